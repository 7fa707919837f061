"""Search finds a name as someone types it without its letters: `soren` finds Søren, on a
learner invited now and on one stored before Roster folded ø, ł, æ and đ (migration 0016)."""

from __future__ import annotations

from datetime import datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

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


def test_keys_stored_before_the_fold_are_folded_by_the_migration(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0015")
        now = {"now": datetime(2026, 1, 5)}
        connection.execute(
            text(
                "INSERT INTO organizations (name, is_demo, created_at) VALUES ('Old', false, :now)"
            ),
            now,
        )
        connection.execute(
            text(
                "INSERT INTO learners "
                "(organization_id, email, email_key, full_name, search_key, created_at)"
                " SELECT id, 'soren@example.com', 'soren@example.com', 'Søren Kierkegaard',"
                " 'søren kierkegaard soren@example.com ', :now FROM organizations"
            ),
            now,
        )
    engine.dispose()
    sessions = open_database(database_url)  # brings the schema to the newest
    with sessions() as session:
        assert session.scalar(text("SELECT search_key FROM learners")) == (
            "soren kierkegaard soren@example.com "
        )
    make_org(sessions, "Acme")  # the migrated database works as any other
    sessions.kw["bind"].dispose()


def test_keys_made_from_another_name_are_made_again_by_the_migration(database_url: str) -> None:
    # Stored before 0019: a learner kept its name while an import without update_learners
    # filled in its External ID, and its key was made from the file's name.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0018")
        now = {"now": datetime(2026, 11, 5)}
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
                {
                    **now,
                    "email": "dorde@example.rs",
                    "name": "Đorđe Petrović",
                    "id": "RS-7",
                    "key": "george p dorde@example.rs rs-7",
                },
                {
                    **now,
                    "email": "ada@example.org",
                    "name": "Ada Lovelace",
                    "id": None,
                    "key": "ada lovelace ada@example.org ",
                },
            ],
        )
    engine.dispose()
    sessions = open_database(database_url)  # brings the schema to the newest
    with sessions() as session:
        keys: dict[str, str] = dict(
            session.execute(text("SELECT email, search_key FROM learners")).all()
        )
    assert keys == {
        "dorde@example.rs": "dorde petrovic dorde@example.rs rs-7",
        "ada@example.org": "ada lovelace ada@example.org ",  # right already: left as it was
    }
    sessions.kw["bind"].dispose()
