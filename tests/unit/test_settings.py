"""Where the package finds its seed data: a checkout, NEWSFLOW_SEEDS, or the copy inside a wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from newsflow import settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_seeds_where_settings_looks() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    included = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    packaged = settings.PACKAGED_SEEDS.relative_to(settings.PACKAGE_DIR.parent).as_posix()
    assert included == {"seeds": packaged}


def test_a_checkout_uses_its_own_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_SEEDS", raising=False)
    monkeypatch.delenv("NEWSFLOW_HOME", raising=False)
    assert settings.seeds_dir() == REPO_ROOT / "seeds"
    assert (settings.seeds_dir() / "feeds.yaml").is_file()


def test_without_a_checkout_the_packaged_copy_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    packaged = tmp_path / "site-packages" / "newsflow" / "seeds"
    packaged.mkdir(parents=True)
    monkeypatch.setattr(settings, "PACKAGED_SEEDS", packaged)
    monkeypatch.setenv("NEWSFLOW_HOME", str(tmp_path / "no-checkout"))
    monkeypatch.delenv("NEWSFLOW_SEEDS", raising=False)
    assert settings.seeds_dir() == packaged
    monkeypatch.setenv("NEWSFLOW_SEEDS", str(tmp_path / "mine"))
    assert settings.seeds_dir() == tmp_path / "mine"
