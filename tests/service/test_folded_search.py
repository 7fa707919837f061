"""Search finds a name as someone types it without its letters: `soren` finds Søren, on a
learner invited now and on one stored before Roster folded ø, ł, æ and đ (migration 0016)."""

from __future__ import annotations

from datetime import datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.service.conftest import Service, get, make_org
from tui.service.db import open_database
from tui.service.schema import MIGRATIONS

PEOPLE = {"Søren Kierkegaard": "soren", "Łukasz Nowak": "lukasz", "Đorđe Petrović": "dorde"}


def test_a_name_is_found_as_typed_without_its_letters(service: Service) -> None:
    for name in PEOPLE:
        email = name.split()[1].lower() + "@example.com"
        response = service.http.post(
            f"/api/v1/programs/{service.acme.programs['Leadership']}/invitations",
            headers=service.as_(service.acme),
            json={
                "full_name": name,
                "email": email,
                "contract_id": service.acme.contracts["Unlimited"],
            },
        )
        assert response.status_code == 201, response.text
    for name, typed in PEOPLE.items():
        for path in ("/api/v1/learners", "/api/v1/invitations"):
            found = get(service, service.acme, path, q=typed)["items"]
            assert [item["full_name"] for item in found] == [name], (path, typed)


def stored_at(
    database_url: str, revision: str, learners: list[tuple[str, str, str | None, str]]
) -> sessionmaker[Session]:
    """A database at schema `revision` holding the organization Old and these learners (email,
    Full Name, External ID, search key) as an older Roster stored them, then opened by this
    one (which brings the schema to the newest); its sessions."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        now = {"now": datetime(2026, 1, 5)}
        connection.execute(
            text(
                "INSERT INTO organizations (name, is_demo, created_at) VALUES ('Old', false, :now)"
            ),
            now,
        )
        connection.execute(
            text(
                "INSERT INTO learners (organization_id, email, email_key, full_name, external_id,"
                " search_key, created_at) SELECT id, :email, :email, :name, :id, :key, :now"
                " FROM organizations"
            ),
            [
                {**now, "email": email, "name": name, "id": external_id, "key": key}
                for email, name, external_id, key in learners
            ],
        )
    engine.dispose()
    return open_database(database_url)


def stored_keys(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        rows = session.execute(text("SELECT email, search_key FROM learners")).all()
    return {str(row[0]): str(row[1]) for row in rows}


def test_keys_stored_before_the_fold_are_folded_by_the_migration(database_url: str) -> None:
    sessions = stored_at(
        database_url,
        "0015",
        [("soren@example.com", "Søren Kierkegaard", None, "søren kierkegaard soren@example.com ")],
    )
    assert stored_keys(sessions) == {"soren@example.com": "soren kierkegaard soren@example.com "}
    make_org(sessions, "Acme")  # the migrated database works as any other
    sessions.kw["bind"].dispose()


def test_keys_made_from_another_name_are_made_again_by_the_migration(database_url: str) -> None:
    # Stored before 0019: a learner kept its name while an import without update_learners
    # filled in its External ID, and its key was made from the file's name.
    sessions = stored_at(
        database_url,
        "0018",
        [
            ("dorde@example.rs", "Đorđe Petrović", "RS-7", "george p dorde@example.rs rs-7"),
            ("ada@example.org", "Ada Lovelace", None, "ada lovelace ada@example.org "),
        ],
    )
    assert stored_keys(sessions) == {
        "dorde@example.rs": "dorde petrovic dorde@example.rs rs-7",
        "ada@example.org": "ada lovelace ada@example.org ",  # right already: left as it was
    }
    sessions.kw["bind"].dispose()
