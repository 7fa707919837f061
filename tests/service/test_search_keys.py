"""An import's search keys, folded for a whole column at once, are exactly `fold`'s: the Users
search finds an imported learner as it finds one invited alone."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.service.invitations import search_keys
from tui.text import fold, learner_search_key

# Names as people from many languages write them, with the letters and forms that fold in
# more than one step: accents, letters Unicode does not decompose, case folding that differs
# from lowercasing (ß, final sigma, dotted and dotless i), compatibility forms, scripts
# without case, combining marks on their own.
NAMES = [
    ("Élodie Lefèvre", "Élodie.Lefevre@example.org", "FR-001"),
    ("Søren Kierkegård", "soren@example.dk", None),
    ("Łukasz Wiśniewski", "lukasz@example.pl", "PL-ŁÓDŹ"),
    ("Jürgen Straße", "jurgen@example.de", "STRASSE"),
    ("ΟΔΥΣΣΕΑΣ Παπαδόπουλος", "odysseas@example.gr", "ΣΟΦΟΣ"),
    ("İsmail Kılıç", "ismail@example.tr", "IIıİ"),
    ("Þórunn Guðmundsdóttir", "thorunn@example.is", None),
    ("Đorđe Petrović", "dorde@example.rs", "Ħ-Ŧ-ĸ-Ŋ"),
    ("Æbbe Œhlenschläger", "aebbe@example.no", "ÆØÅ"),
    ("Иван Ёлкин", "ivan@example.ru", "Й"),
    ("Nguyễn Thị Hương", "huong@example.vn", None),
    ("山田 太郎", "taro@example.jp", "ｶﾀｶﾅ"),
    ("김민준", "minjun@example.kr", "한국"),
    ("محمد عبد الله", "mohammed@example.sa", "٣٤٥"),
    ("דוד כהן", "david@example.il", None),
    ("देवनागरी ऋषि", "rishi@example.in", "क्षि"),
    ("ﬁona Ｗｉｄｅ ǅemal", "fiona@example.org", "①②㎏"),
    ("Zoë ǈubica Ǳ", "zoe@example.org", "x\u0301\u0327"),
    ("\u0301\u0345 mark first", "mark@example.org", "ﬀ ŉ ẞ"),
    ("Learner 7", "learner7@example.org", "X0000007"),
]


def keys_of(rows: list[tuple[str, str, str | None]]) -> list[str]:
    frame = pl.DataFrame(
        rows,
        schema={"full_name": pl.String, "email": pl.String, "external_id": pl.String},
        orient="row",
    )
    return search_keys(frame).to_list()


def test_names_from_many_languages_get_the_keys_fold_gives() -> None:
    assert keys_of(NAMES) == [learner_search_key(*row) for row in NAMES]
    assert keys_of(NAMES)[3] == "jurgen strasse jurgen@example.de strasse"


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(), st.text(max_size=8), st.none() | st.text(max_size=8)),
        min_size=1,
        max_size=20,
    )
)
def test_any_text_gets_the_key_fold_gives(rows: list[tuple[str, str, str | None]]) -> None:
    assert keys_of(rows) == [learner_search_key(*row) for row in rows]


@settings(max_examples=400, deadline=None)
@given(st.text(), st.text())
def test_fold_is_a_map_of_each_character(first: str, second: str) -> None:
    """What folding a column once per distinct character rests on."""
    assert fold(first + second) == fold(first) + fold(second)
    assert fold(first) == "".join(fold(char) for char in first)
