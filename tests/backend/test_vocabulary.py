"""The shared vocabulary: every code said in Chinese and English, with the same placeholders."""

from __future__ import annotations

import re

from backend.vocabulary import LANGUAGES, placeholders, say, vocabulary, vocabulary_dir


def test_every_feature_file_is_imported_by_the_app() -> None:
    module = (vocabulary_dir().parent / "lib" / "vocabulary.js").read_text(encoding="utf-8")
    for path in vocabulary_dir().glob("*.json"):
        assert f"../vocabulary/{path.name}" in module, f"{path.name} is not imported by lib/vocabulary.js"


def test_every_code_has_both_languages_with_the_same_placeholders() -> None:
    for code, texts in vocabulary().items():
        assert set(texts) == set(LANGUAGES), f"{code}: languages {sorted(texts)}"
        assert all(texts[lang].strip() for lang in LANGUAGES), f"{code}: an empty text"
        assert placeholders(texts["zh"]) == placeholders(texts["en"]), f"{code}: placeholders differ"


def test_say_fills_parameters_and_falls_back_to_the_code() -> None:
    assert say("no_such_code") == "no_such_code"


def test_every_text_the_app_asks_for_by_name_is_in_the_vocabulary() -> None:
    """Each literal ``t('key')`` in the app's modules names a code of the vocabulary (no text lives in lib/i18n.js)."""
    app = vocabulary_dir().parent
    asked: set[str] = set()
    for path in app.rglob("*.js"):
        if "vendor" not in path.parts:
            asked |= set(re.findall(r"\bt\(\s*'([\w-]+)'", path.read_text(encoding="utf-8")))
    assert asked, "no t('…') call found: the pattern is stale"
    assert sorted(asked - set(vocabulary())) == []
    i18n = (app / "lib" / "i18n.js").read_text(encoding="utf-8")
    assert "const zh" not in i18n, "texts belong in pwa_static/vocabulary/*.json"
