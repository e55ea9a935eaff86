"""Fixtures for integration tests that need real stories: the Kherson story and two others,
under index names of their own (set up, then deleted with their templates)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.articles import make_article
from tests.conftest import shared_path

BAKHMUT = (
    "Ukrainian forces said on Wednesday they had repelled a Russian assault on the eastern town of "
    "Bakhmut in the Donetsk region, after a night of shelling that damaged a school and two apartment "
    "blocks. The General Staff in Kyiv said Russian units had tried to advance on the town from the "
    "south-east and were pushed back with losses. Regional governor Pavlo Kyrylenko said three "
    "civilians were wounded and urged remaining residents to evacuate before winter."
)
CYCLING = (
    "The city council approved twelve kilometres of protected cycle lanes on Tuesday, to be built over "
    "the next two years along the river and the ring road. Councillors said the lanes would connect the "
    "university, the hospital and the central station, and that parking on two streets would go."
)


@pytest.fixture
def seed_texts() -> list[str]:
    paths = sorted(shared_path("seeds").glob("*.txt"))
    assert len(paths) == 2, "../shared/seeds must hold the two Kherson reports"
    return [p.read_text(encoding="utf-8") for p in paths]


@pytest.fixture
def kherson(seed_texts: list[str]) -> list[Any]:
    """The two outlets' own reports and a syndicated copy of the first: three matching reports."""
    herald = make_article(
        "https://northern-herald.example/2022/08/30/ukraine-run-home-or-die",
        "Ukraine tells Russian troops to run home or die as Kherson counter-offensive begins",
        seed_texts[0],
        "2022-08-30T07:15:00Z",
        "Northern Herald",
        content_hash="seed-000",
        language_tag="en-GB",
    )
    courier = make_article(
        "https://southern-courier.example/2022/08/30/kherson-breakthrough-claimed",
        "Ukraine claims breakthrough near Kherson as counteroffensive begins",
        seed_texts[1],
        "2022-08-30T11:05:00Z",
        "Southern Courier",
        content_hash="seed-001",
    )
    wire = make_article(
        "https://southern-courier.example/2022/08/30/wire-ukraine-run-home-or-die",
        herald.title,
        seed_texts[0],
        "2022-08-30T12:30:00Z",
        "Southern Courier",
        content_hash="seed-000",
    )
    return [herald, courier, wire]


@pytest.fixture
def others() -> list[Any]:
    return [
        make_article(
            "https://northern-herald.example/2022/08/31/bakhmut",
            "Ukraine says Russian assault on Bakhmut repelled",
            BAKHMUT,
            "2022-08-31T09:40:00Z",
            "Northern Herald",
        ),
        make_article(
            "https://southern-courier.example/2022/08/30/cycle-lanes",
            "City approves twelve kilometres of protected cycle lanes",
            CYCLING,
            "2022-08-30T16:00:00Z",
            "Southern Courier",
        ),
    ]


@pytest.fixture
def story_names(es_client: Any, es_prefix: str) -> Iterator[Any]:
    from newsflow.index import IndexNames, setup_indices

    names = IndexNames.with_prefix(es_prefix)
    setup_indices(es_client, names)
    yield names
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"{es_prefix}*")
    es_client.options(ignore_status=404).cluster.delete_component_template(name=f"{es_prefix}*")


@pytest.fixture
def story_index(es_client: Any, story_names: Any) -> Any:
    from newsflow.dedup.es_stories import ElasticStories
    from newsflow.dedup.story_index import StoryIndex

    return StoryIndex(ElasticStories(es_client, story_names))
