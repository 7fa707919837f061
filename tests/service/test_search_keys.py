"""An import's search keys, folded for a whole column at once, are exactly `fold`'s, and every
key an import stores is the learner's own (`learner_search_key` of what it keeps): the Users
search finds an imported learner as it finds one invited alone."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.service.conftest import Service
from tui.service import commit_progress
from tui.service.db import Learner
from tui.service.invitations import search_keys
from tui.text import fold, learner_search_key

Row = tuple[str, str, str | None]

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
    ("Ada Lovelace", "Ada@Example.org", "UK-1815"),
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


def _import(service: Service, program: str, rows: Sequence[Row], update_learners: bool) -> None:
    """Import `rows` (full name, email, External ID) to Acme's `program`, no emails."""
    org = service.acme
    started = service.http.post(
        "/api/v1/imports",
        headers={**service.as_(org), "Idempotency-Key": f"{program}-{update_learners}"},
        json={
            "program_id": org.programs[program],
            "contract_id": org.contracts["Unlimited"],
            "send_emails": False,
            "file_name": "learners.csv",
            "update_learners": update_learners,
        },
    ).json()
    chunk = {
        "row": [number + 2 for number in range(len(rows))],
        "full_name": [name for name, _, _ in rows],
        "email": [email for _, email, _ in rows],
        "external_id": [external_id for _, _, external_id in rows],
    }
    path = f"/api/v1/imports/{started['id']}"
    assert service.http.put(f"{path}/chunks/0", headers=service.as_(org), json=chunk).is_success
    committed = service.http.post(
        f"{path}/commit", headers=service.as_(org), json={"rows": len(rows)}
    )
    assert committed.json()["invited"] == len(rows), committed.text


def _stored_keys(service: Service) -> dict[str, tuple[str, str]]:
    """Each stored learner's email: its search key, and the key `learner_search_key` gives."""
    with service.sessions() as session:
        learners = session.scalars(select(Learner)).all()
        return {
            learner.email: (
                learner.search_key,
                learner_search_key(learner.full_name, learner.email, learner.external_id),
            )
            for learner in learners
        }


def test_an_import_stores_the_keys_fold_gives_new_updated_and_filled_in(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    # New learners, half without an External ID; then the same learners imported to another
    # program with names swapped between plain and accented, updating them (the other half:
    # keeping their names, the External ID filled in where they had none). Staged 4 rows at a
    # time, as a million are staged a batch at a time.
    monkeypatch.setattr(commit_progress, "BATCH_ROWS", 4)
    first = [
        (name, email, None if number % 2 else external_id)
        for number, (name, email, external_id) in enumerate(NAMES)
    ]
    _import(service, "Leadership", first, update_learners=False)
    keys = _stored_keys(service)
    assert len(keys) == len(NAMES)
    assert {email: pair for email, pair in keys.items() if pair[0] != pair[1]} == {}
    assert keys["learner7@example.org"][0] == "learner 7 learner7@example.org "  # no ID
    assert keys["Ada@example.org"][0] == "ada lovelace ada@example.org uk-1815"

    names = [name for name, _, _ in NAMES]
    # Row 2 gives no External ID: the updated learner keeps its own, in its key too.
    second = [
        (names[-1 - number], email, None if number == 2 else f"ID-{number}")
        for number, (_, email, _) in enumerate(NAMES)
    ]
    _import(service, "Data Literacy", second[::2], update_learners=True)
    _import(service, "Data Literacy", second[1::2], update_learners=False)
    keys = _stored_keys(service)
    assert {email: pair for email, pair in keys.items() if pair[0] != pair[1]} == {}
    # Updated: the other name; kept: its own name, with the External ID it lacked.
    assert keys["Élodie.Lefevre@example.org"][0] == "ada lovelace elodie.lefevre@example.org id-0"
    assert keys["soren@example.dk"][0] == "soren kierkegard soren@example.dk id-1"
    assert keys["taro@example.jp"][0] == learner_search_key("山田 太郎", "taro@example.jp", "ID-11")
    assert keys["lukasz@example.pl"][0].endswith(" lukasz@example.pl pl-lodz")
