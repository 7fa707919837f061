"""The database's schema against this Roster's migrations: where it stands, and bringing it to
the newest.

Who migrates: a SQLite database is brought up to date by whatever opens it (it is one file on
one machine: the app, a command, `roster serve` on it). A PostgreSQL database is shared by API
replicas and mail workers that may run different Roster versions during a deploy, so only
`roster migrate` changes its schema; everything else refuses a schema other than its own newest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")
# Held for the whole migration on PostgreSQL: two `roster migrate` at once take turns.
MIGRATION_LOCK = 0x526F73746572  # "Roster"


def migrates_on_open(url: str) -> bool:
    """Whether opening the database at `url` migrates it (SQLite), or only `roster migrate`
    may (PostgreSQL)."""
    return url.startswith("sqlite")


@dataclass(frozen=True, slots=True)
class Revision:
    id: str
    title: str  # the first line of the migration's docstring


@dataclass(frozen=True, slots=True)
class SchemaState:
    """A database's schema revision next to this Roster's newest."""

    current: str | None  # None: no Roster schema yet (an empty database)
    head: str
    pending: tuple[Revision, ...]  # what `roster migrate` would apply, oldest first
    newer: bool  # migrated by a newer Roster: a revision this one does not know

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


class SchemaMismatch(Exception):
    """The database's schema is not the one this Roster runs on, and it may not migrate it."""

    def __init__(self, state: SchemaState) -> None:
        super().__init__(
            f"schema {state.current or 'none'}, "
            + ("newer than " if state.newer else "this Roster needs ")
            + state.head
        )
        self.state = state


@dataclass(frozen=True, slots=True)
class Migration:
    """What `migrate` did: the revision found, the one left, and the migrations applied."""

    before: str | None
    after: str
    applied: tuple[Revision, ...]


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _scripts(config: Config) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config)


def newest_revision() -> str:
    """This Roster's newest schema revision."""
    head = _scripts(_config()).get_current_head()
    assert head is not None, "Roster ships its migrations"
    return head


def known_revisions() -> set[str]:
    """Every schema revision this Roster has a migration for (a database at any of them can be
    brought to the newest)."""
    return {script.revision for script in _scripts(_config()).walk_revisions()}


def _state(connection: Connection, scripts: ScriptDirectory) -> SchemaState:
    from alembic.runtime.migration import MigrationContext
    from alembic.util import CommandError

    head = scripts.get_current_head()
    assert head is not None, "Roster ships its migrations"
    found = MigrationContext.configure(connection).get_current_heads()
    current = ",".join(found) or None
    for revision in found:
        try:
            known = scripts.get_revision(revision) is not None
        except CommandError:  # alembic's ResolutionError: an id none of our scripts has
            known = False
        if not known:
            return SchemaState(current, head, (), newer=True)
    pending = tuple(
        Revision(script.revision, (script.doc or "").strip().splitlines()[0])
        for script in reversed(list(scripts.iterate_revisions(head, current or "base")))
    )
    return SchemaState(current, head, pending, newer=False)


def newest_by_name() -> str:
    """This Roster's newest revision, read from the migrations' file names: each migration's
    id is its file's four-digit prefix, and each follows the one before (test_migrate holds
    this to alembic's own head)."""
    names = (MIGRATIONS / "versions").glob("[0-9]" * 4 + "_*.py")
    return max((path.name[:4] for path in names), default="")  # none: alembic will say


def schema_state(engine: Engine) -> SchemaState:
    """Where the database stands; a read that takes no lock."""
    with engine.connect() as connection:
        newest = newest_by_name()
        if _stored_revisions(connection) == [newest]:
            # Up to date, found without loading alembic and every migration: that took 0.14 s
            # of every command's start.
            return SchemaState(newest, newest, (), newer=False)
        return _state(connection, _scripts(_config()))


def _stored_revisions(connection: Connection) -> list[str]:
    if not inspect(connection).has_table("alembic_version"):
        return []
    return list(connection.scalars(text("SELECT version_num FROM alembic_version")))


def require_head(engine: Engine) -> SchemaState:
    """The database's state when it is exactly this Roster's newest; SchemaMismatch if not."""
    state = schema_state(engine)
    if not state.up_to_date:
        raise SchemaMismatch(state)
    return state


def migrate(engine: Engine) -> Migration:
    """Bring the schema to this Roster's newest revision. A schema from a newer Roster is left
    alone (SchemaMismatch). Reads first without a lock, so opening an up-to-date database never
    waits for another process's writes."""
    state = schema_state(engine)
    if state.up_to_date:
        return Migration(state.current, state.head, ())
    if state.newer:
        raise SchemaMismatch(state)
    from alembic import command

    config = _config()
    scripts = _scripts(config)

    # Take the write lock (SQLite) or the migration lock (PostgreSQL), then look again: another
    # process may have migrated meanwhile.
    with engine.execution_options(sqlite_immediate=True).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        state = _state(connection, scripts)
        if state.newer:
            raise SchemaMismatch(state)
        if state.pending:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return Migration(state.current, state.head, state.pending)
