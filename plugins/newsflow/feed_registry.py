"""The feed registry (YAML): every mistake found at once, each with its file, line and field.

A typo in one feed must not take the whole poll down silently, and an operator fixing
a registry should see all its problems in one pass, not one per run. ``check_registry``
returns them all (``newsflow feeds check FILE`` prints them); ``load_registry`` raises
one ``ConfigError`` listing them all. A key given twice inside one feed is an error
(YAML would silently keep the last), and so is a poll interval beyond
``MAX_POLL_INTERVAL`` (a huge one overflows the scheduler's date arithmetic).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from newsflow.errors import ConfigError, InputError
from newsflow.inputfiles import read_small
from newsflow.timestamps import span_seconds

MAX_POLL_INTERVAL = 30 * 86400  # a feed polled less than monthly is not news
MAX_REGISTRY_BYTES = 16 << 20  # some 50,000 feeds; a larger file is no registry
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_REQUIRED = ("name", "url", "language", "poll_interval", "tags")
_OPTIONAL = ("enabled", "outlet", "notes")  # notes: free text for humans, not loaded


def parse_interval(text: str) -> int:
    """Seconds in an interval like ``15m`` (at most 30 days); raises ValueError otherwise."""
    seconds = span_seconds(text)
    if seconds is None:
        if re.match(r"^\s*\d{10,}\s*[smhdw]\s*$", text):
            raise ValueError(f"{text!r} is longer than the maximum poll interval of 30d")
        raise ValueError(f"{text!r} is not an interval like '30s', '15m', '2h', '1d' or '1w'")
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    if seconds > MAX_POLL_INTERVAL:
        raise ValueError(f"{text!r} is longer than the maximum poll interval of 30d")
    return seconds


def _field_problem(name: str, value: str) -> str | None:
    """Why ``value`` is not acceptable for registry field ``name`` (None if it is)."""
    from urllib.parse import urlsplit

    if name == "name" and not _NAME.match(value):
        return f"{value!r} must be lower-case letters, digits, '_', '.', '-' (max 80)"
    if name == "url":
        from newsflow.redact import redact_url

        shown = repr(redact_url(value))  # a feed URL may carry a password or a key: never shown
        try:
            parts = urlsplit(value)
            host = parts.hostname
            parts.port  # noqa: B018 - a bad port raises here, and the fetcher would fail on it later
        except ValueError as exc:
            return f"{shown} is not a valid URL ({exc})"
        if parts.scheme not in ("http", "https") or not host:
            return f"{shown} must be an absolute http(s) URL"
    if name == "language" and not _LANGUAGE.match(value):
        return f"{value!r} must be a language code like 'en' or 'en-GB'"
    if name == "poll_interval":
        try:
            parse_interval(value)
        except ValueError as exc:
            return str(exc)
    return None


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed of the registry."""

    name: str
    url: str
    language: str
    poll_interval: str
    tags: tuple[str, ...] = ()
    outlet: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        for name in ("name", "url", "language", "poll_interval"):
            problem = _field_problem(name, getattr(self, name))
            if problem:
                raise ConfigError(f"feed {self.name!r}: field {name!r}: {problem}")

    @property
    def poll_seconds(self) -> int:
        return parse_interval(self.poll_interval)


@dataclass(frozen=True, slots=True)
class FeedRegistry:
    path: str
    feeds: tuple[FeedSpec, ...]

    def __iter__(self) -> Iterator[FeedSpec]:
        return iter(self.feeds)

    def __len__(self) -> int:
        return len(self.feeds)

    def enabled(self) -> tuple[FeedSpec, ...]:
        return tuple(f for f in self.feeds if f.enabled)

    def get(self, name: str) -> FeedSpec:
        for spec in self.feeds:
            if spec.name == name:
                return spec
        raise ConfigError(f"{self.path}: no feed named {name!r}")


@dataclass(frozen=True, slots=True)
class RegistryError:
    """One problem of a registry file: where it is (line, field) and what to change."""

    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: field {self.field!r}: {self.message}" if self.field else f"{where}: {self.message}"


class _Collector:
    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[RegistryError] = []

    def add(self, node: yaml.Node | None, message: str, field: str | None = None) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.errors.append(RegistryError(self.path, line, field, message))


def _scalar(node: yaml.Node) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or not isinstance(node.value, str) or not node.value.strip():
        return None
    return str(node.value).strip()


def _read(path: str | Path) -> tuple[list[FeedSpec], list[RegistryError]]:
    """Every valid feed and every error of the file; a feed with any error is left out."""
    path_str = str(path)
    found = _Collector(path_str)
    try:
        text = read_small(path, MAX_REGISTRY_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError, InputError) as exc:
        found.add(None, f"cannot read feed registry ({exc})")
        return [], found.errors
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        found.add(None, f"not valid YAML ({exc})")
        return [], found.errors
    except RecursionError:  # thousands of nested levels: no registry looks like that
        found.add(None, "not a feed registry (nested too deep to read)")
        return [], found.errors
    if root is None:
        found.add(None, "empty file; expected a mapping with a 'feeds' list")
        return [], found.errors
    items: yaml.Node | None = None
    if isinstance(root, yaml.MappingNode):
        feeds_keys = [(k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "feeds"]
        for key, _ in feeds_keys[1:]:
            found.add(key, f"'feeds:' given again (first on line {feeds_keys[0][0].start_mark.line + 1})")
        items = feeds_keys[0][1] if feeds_keys else None
    if not isinstance(items, yaml.SequenceNode):
        found.add(root, "expected a top-level 'feeds:' list")
        return [], found.errors
    specs: list[FeedSpec] = []
    seen: dict[str, int] = {}
    for item in items.value:
        spec, name_node = _load_spec(found, item)
        if spec is None:
            continue
        if spec.name in seen:
            found.add(name_node, f"{spec.name!r} already used on line {seen[spec.name]}", "name")
        else:
            seen[spec.name] = item.start_mark.line + 1
            specs.append(spec)
    return specs, found.errors


def _load_spec(found: _Collector, node: yaml.Node) -> tuple[FeedSpec | None, yaml.Node | None]:
    if not isinstance(node, yaml.MappingNode):
        found.add(node, "each feed must be a mapping of fields")
        return None, None
    before = len(found.errors)
    fields: dict[str, yaml.Node] = {}
    keys: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name not in _REQUIRED and name not in _OPTIONAL:
            allowed = ", ".join(_REQUIRED + _OPTIONAL)
            found.add(key, f"unknown field {name!r}; allowed: {allowed}")
            continue
        if str(name) in keys:
            first = keys[str(name)].start_mark.line + 1
            found.add(key, f"given twice in one feed (first on line {first}); keep one", str(name))
            continue
        keys[str(name)] = key
        fields[str(name)] = value
    for required in _REQUIRED:
        if required not in fields:
            found.add(node, f"missing field {required!r}")
    values = _values(found, fields)
    if len(found.errors) > before:
        return None, keys.get("name")
    return FeedSpec(**values), keys.get("name")


def _values(found: _Collector, fields: dict[str, yaml.Node]) -> dict[str, Any]:
    """The valid values of one feed's fields; each invalid one is reported instead."""
    values: dict[str, Any] = {}
    for name in ("name", "url", "language", "poll_interval", "outlet"):
        if name not in fields:
            continue
        value = _scalar(fields[name])
        if value is None:
            found.add(fields[name], "must be a non-empty string", name)
            continue
        problem = _field_problem(name, value)
        if problem:
            found.add(fields[name], problem, name)
            continue
        values[name] = value
    if "tags" in fields:
        tags_node = fields["tags"]
        tags = [_scalar(t) for t in tags_node.value] if isinstance(tags_node, yaml.SequenceNode) else None
        if tags is None:
            found.add(tags_node, "must be a list of strings", "tags")
        elif None in tags:
            found.add(tags_node, "every tag must be a non-empty string", "tags")
        else:
            values["tags"] = tuple(t for t in tags if t is not None)
    if "enabled" in fields:
        enabled = fields["enabled"]
        if not isinstance(enabled, yaml.ScalarNode) or enabled.value not in ("true", "false"):
            found.add(enabled, "must be true or false", "enabled")
        else:
            values["enabled"] = enabled.value == "true"
    return values


def check_registry(path: str | Path) -> list[RegistryError]:
    """Every problem of the registry at ``path`` (empty when it loads); never raises for its content."""
    return _read(path)[1]


def load_registry(path: str | Path) -> FeedRegistry:
    """Load and validate the feed registry; one ``ConfigError`` lists every error with file, line, field."""
    specs, errors = _read(path)
    if len(errors) == 1:
        raise ConfigError(str(errors[0]))
    if errors:
        listed = "\n".join(f"  {error}" for error in errors)
        raise ConfigError(f"{path}: {len(errors)} errors in the feed registry:\n{listed}")
    return FeedRegistry(path=str(path), feeds=tuple(specs))
