"""An import on PostgreSQL knows its new learners' ids without reading them back, and only
when no other transaction took ids among them: each invitation goes to its own learner."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import select, text

from tui.service import admin as operator
from tui.service.commit_progress import CommitProgress
from tui.service.db import Learner, open_database, utcnow
from tui.service.invitations import _copied_ids, _copy


@pytest.mark.parametrize("other", ["none", "committed", "open"])
def test_the_copied_learners_ids_are_theirs_whatever_another_transaction_does(
    database_url: str, other: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: its ids follow the highest one")
    sessions = open_database(database_url)
    with sessions.begin() as session:
        organization_id = operator.create_organization(session, "Initech").id
    learners = pl.DataFrame(
        {
            "organization_id": [organization_id] * 5,
            "email": [f"l{n}@example.org" for n in range(5)],
            "email_key": [f"l{n}@example.org" for n in range(5)],
            "full_name": [f"L {n}" for n in range(5)],
            "search_key": [f"l {n}" for n in range(5)],
            "created_at": [utcnow()] * 5,
        }
    )
    insert_other = text(
        "INSERT INTO learners (organization_id, email, email_key, full_name, search_key, "
        "created_at) VALUES (:org, 'o@example.org', 'o@example.org', 'O', 'o', now())"
    )
    with sessions() as mine, sessions() as theirs:
        connection = mine.connection()
        before = connection.scalar(text("SELECT coalesce(max(id), 0) FROM learners"))
        if other != "none":  # it takes the next id before the import's COPY
            theirs.execute(insert_other, {"org": organization_id})
            if other == "committed":
                theirs.commit()
        _copy(connection, "learners", learners, CommitProgress(), "learners")
        ids = _copied_ids(connection, learners, before, organization_id).to_list()
        by_email = dict(mine.execute(select(Learner.email_key, Learner.id)).all())
        assert ids == [by_email[email] for email in learners["email_key"]]
        theirs.rollback()
    sessions.kw["bind"].dispose()
