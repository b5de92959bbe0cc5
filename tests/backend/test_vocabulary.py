"""The shared vocabulary: every code said in Chinese and English, with the same placeholders."""

from __future__ import annotations

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
