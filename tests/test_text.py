"""One helper decides singular or plural, with thousands separators."""

from tui.text import noun, plural


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert [plural(count, "row") for count in (0, 1, 2, 1_000_000)] == [
        "0 rows",
        "1 row",
        "2 rows",
        "1,000,000 rows",
    ]
    assert noun(1, "was", "were") == "was" and noun(3, "was", "were") == "were"


def test_search_folds_the_latin_letters_unicode_does_not_decompose() -> None:
    from tui.text import fold

    assert fold("Søren ŁUKASZ Øystein Æsa Đorđe Þóra Œuvre") == (
        "soren lukasz oystein aesa dorde thora oeuvre"
    )
    assert fold("Élodie Straße") == "elodie strasse"  # as before: accents and case
