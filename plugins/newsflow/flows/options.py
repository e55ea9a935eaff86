"""What a deployment decides once for both flows: which registry, which archive, how big a batch is."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from newsflow import settings
from newsflow.archive import ArchiveOptions
from newsflow.errors import ConfigError
from newsflow.fetch import FetchOptions
from newsflow.fetch_policy import allow_list_from_env

MAP_LIMIT = 1024  # Airflow's [core] max_map_length
PAGES_PER_BATCH = 300  # pages one poll task fetches; the rest wait for the next run
FAILING_AFTER = 3  # failed polls in a row that put a feed "in error" (its run is then partial)
FEEDS_PER_BATCH = 25  # feeds one poll task polls (a host's feeds stay in one unit)
PAGES_PER_TASK = 1000  # pages a process task is filled to (whole archive batches; docs/scaling.md)
BATCHES_PER_TASK = 32  # archive batches one process task reads at most
MAX_TASKS = 64  # mapped tasks per run, well below Airflow's map limit
SEEN_DAYS = 14  # days of archive index a poll reads to skip pages it already has


@dataclass(frozen=True, slots=True)
class FlowOptions:
    """The poll and process flows' settings; ``from_env`` is what the DAG tasks use."""

    registry: str = field(default_factory=lambda: str(settings.seeds_dir() / "feeds.yaml"))
    archive_root: str = field(default_factory=settings.archive_root)
    feeds_per_batch: int = FEEDS_PER_BATCH
    pages_per_task: int = PAGES_PER_TASK
    batches_per_task: int = BATCHES_PER_TASK
    max_tasks: int = MAX_TASKS
    seen_days: int = SEEN_DAYS
    pages_per_batch: int = PAGES_PER_BATCH
    failing_after: int = FAILING_AFTER
    allow_private_hosts: frozenset[str] = frozenset()
    polite_delay_s: float = 1.0
    contact_url: str | None = None

    def __post_init__(self) -> None:
        if min(self.feeds_per_batch, self.pages_per_task, self.batches_per_task) < 1:
            raise ConfigError("feeds_per_batch, pages_per_task and batches_per_task must be at least 1")
        if not 1 <= self.max_tasks <= MAP_LIMIT:
            raise ConfigError(
                f"max_tasks={self.max_tasks} must be within 1..{MAP_LIMIT} (Airflow's map limit)"
            )
        if self.seen_days < 0:
            raise ConfigError(f"seen_days={self.seen_days} must be >= 0")
        if self.pages_per_batch < 1:
            raise ConfigError(f"pages_per_batch={self.pages_per_batch} must be at least 1")
        if self.failing_after < 1:
            raise ConfigError(f"failing_after={self.failing_after} must be at least 1")

    @classmethod
    def from_env(cls) -> FlowOptions:
        """``NEWSFLOW_FEEDS`` (registry path), ``NEWSFLOW_ARCHIVE``, ``NEWSFLOW_ALLOW_PRIVATE_HOSTS``,
        ``NEWSFLOW_POLITE_DELAY_S``, ``NEWSFLOW_CONTACT_URL``, ``NEWSFLOW_PAGES_PER_BATCH``,
        ``NEWSFLOW_FEED_FAILING_AFTER``, and the unit sizes a deployment tunes to its size
        (``docs/scaling.md``): ``NEWSFLOW_FEEDS_PER_BATCH``, ``NEWSFLOW_PAGES_PER_TASK``,
        ``NEWSFLOW_BATCHES_PER_TASK``, ``NEWSFLOW_MAX_TASKS``, ``NEWSFLOW_SEEN_DAYS``."""
        delay = os.environ.get("NEWSFLOW_POLITE_DELAY_S")
        return cls(
            feeds_per_batch=settings.int_env("NEWSFLOW_FEEDS_PER_BATCH", FEEDS_PER_BATCH),
            pages_per_task=settings.int_env("NEWSFLOW_PAGES_PER_TASK", PAGES_PER_TASK),
            batches_per_task=settings.int_env("NEWSFLOW_BATCHES_PER_TASK", BATCHES_PER_TASK),
            max_tasks=settings.int_env("NEWSFLOW_MAX_TASKS", MAX_TASKS),
            seen_days=settings.int_env("NEWSFLOW_SEEN_DAYS", SEEN_DAYS),
            pages_per_batch=settings.int_env("NEWSFLOW_PAGES_PER_BATCH", PAGES_PER_BATCH),
            failing_after=settings.int_env("NEWSFLOW_FEED_FAILING_AFTER", FAILING_AFTER),
            registry=os.environ.get("NEWSFLOW_FEEDS") or str(settings.seeds_dir() / "feeds.yaml"),
            archive_root=settings.archive_root(),
            allow_private_hosts=allow_list_from_env(os.environ.get("NEWSFLOW_ALLOW_PRIVATE_HOSTS")),
            polite_delay_s=float(delay) if delay else 1.0,
            contact_url=os.environ.get("NEWSFLOW_CONTACT_URL") or None,
        )

    def fetch_options(self) -> FetchOptions:
        options = FetchOptions(
            allow_private_hosts=self.allow_private_hosts, per_host_delay=self.polite_delay_s
        )
        return replace(options, contact_url=self.contact_url) if self.contact_url else options

    def archive_options(self) -> ArchiveOptions:
        return ArchiveOptions(root=self.archive_root)
