"""Language tags and detection: one answer for extraction, stories and search."""

from __future__ import annotations

import pytest

from newsflow.language import detect_language, normalize_tag, primary_language


@pytest.mark.parametrize(
    ("raw", "normal", "primary"),
    [
        ("en-gb", "en-GB", "en"),
        ("EN_us", "en-US", "en"),
        ("de, en", "de", "de"),
        ("zh-hans-cn", "zh-Hans-CN", "zh"),
        ("es-419", "es-419", "es"),
        ("", None, None),
        (None, None, None),
        ("english please", None, None),
        ("x", None, None),
    ],
)
def test_tags_are_normalised(raw: str | None, normal: str | None, primary: str | None) -> None:
    assert normalize_tag(raw) == normal
    assert primary_language(raw) == primary


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Die Regierung hat am Montag neue Regeln für die Wahl in Berlin beschlossen.", "de"),
        ("El gobierno aprobó el lunes nuevas normas para las elecciones en Madrid.", "es"),
        ("政府周一宣布了新的经济刺激计划以应对通货膨胀。", "zh"),
        ("Правительство в понедельник утвердило новые правила выборов.", "ru"),
        ("The government approved new election rules in Washington on Monday.", "en"),
    ],
)
def test_detection_names_the_language(text: str, language: str) -> None:
    found = detect_language(text)
    assert found is not None and found.language == language
    assert 0.5 <= found.confidence <= 1.0


def test_too_little_text_is_not_guessed() -> None:
    assert detect_language("Hi there") is None
