"""The operators' commands, on a database rather than through a service: `roster serve` runs the
service, `roster worker` sends its outbox, `roster migrate` brings its schema up to date and
`roster admin` creates organizations, admins, programs and contracts."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from tui.cli.options import batch_settings, load_settings
from tui.cli.output import output_of, print_json, print_record, print_warning, report_failure
from tui.outcome import Exit, Failure
from tui.text import plural

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

    from tui.service.db import Organization
    from tui.settings import Settings

# `roster migrate` waits this long for a lock (another migration, a long transaction) before
# giving up: a migration is rare, and worth waiting for.
MIGRATION_LOCK_TIMEOUT = 60.0


def long_running_settings(options: argparse.Namespace) -> Settings:
    """The settings of a process that runs until stopped, its allocators set up first: before
    polars is imported, so that it purges what it frees in the background."""
    from tui.memory import configure_allocators

    configure_allocators()
    return load_settings(options)


def prepare_data_dir(path: Path) -> None:
    """The data directory made (private) if it is missing; named on stderr if other users can
    open it."""
    from tui.service.private_files import make_data_dir, open_to_others

    make_data_dir(path)
    if warning := open_to_others(path):
        print_warning(warning)


def warn_if_open(settings: Settings) -> None:
    """Name the data directory on stderr if other users can open it and this process keeps files
    there (the default database or outbox)."""
    from tui.service.private_files import open_to_others

    uses = not settings.database_url or not settings.mail_url
    if uses and (warning := open_to_others(settings.data_dir)):
        print_warning(warning)


def serve(options: argparse.Namespace) -> int:
    settings = long_running_settings(options)  # before polars is imported
    import logging

    import uvicorn

    from tui.config_file import SettingsProblem
    from tui.service.runtime import MaskInvitationTokens, build_service, log_service_to
    from tui.service.startup import database_failures
    from tui.urls import mask_url

    host, port, with_sender = options.host, options.port, options.sender
    log_service_to(logging.StreamHandler(sys.stderr))
    logging.getLogger("uvicorn.access").addFilter(MaskInvitationTokens())
    url = settings.resolved_database_url()
    warn_if_open(settings)
    try:
        with database_failures(url):
            app, _ = build_service(settings, with_sender=with_sender)
    except ValueError as error:  # a mail URL or sender that cannot be used
        raise Failure("bad_setting", str(error)) from None
    except SettingsProblem as problem:  # no usable secret key
        raise Failure("bad_setting", problem.message, **problem.details) from None
    mail = (
        f"mail {mask_url(settings.resolved_mail_url())}"
        if with_sender
        else "no sender: mail waits in the outbox for `roster worker`"
    )
    print(f"Roster service on http://{host}:{port} (database {mask_url(url)}, {mail})", flush=True)
    # The client is the connection's address: a forwarded header from a local process must not
    # let it dodge the guessing throttle.
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
    return Exit.OK


def worker(options: argparse.Namespace) -> int:
    """Deliver the outbox until SIGTERM or SIGINT, with no HTTP: mail for API replicas that run
    no sender (`roster serve --no-sender`), or the data directory's mail while the app is
    closed (it sends alongside a running app: the outbox's claims keep each email sent once)."""
    settings = long_running_settings(options)  # before polars is imported
    import asyncio
    import logging

    from tui.config_file import SettingsProblem
    from tui.service.db import open_database
    from tui.service.private_files import private_database
    from tui.service.runtime import log_service_to, open_sender, secret_key
    from tui.service.schema import migrates_on_open
    from tui.service.startup import check_data_dir, database_failures
    from tui.service.worker import POLL_INTERVAL, run_worker
    from tui.urls import mask_url

    log_service_to(logging.StreamHandler(sys.stderr))
    url = settings.resolved_database_url()
    if not settings.database_url:  # the data directory's database, as the app's
        check_data_dir(settings.data_dir)
        prepare_data_dir(settings.data_dir)
    warn_if_open(settings)
    with database_failures(url):
        private_database(url)
        sessions = open_database(url, migrate=migrates_on_open(url))
    try:
        secret = secret_key(settings)
        sender = open_sender(
            settings, sessions, secret, lease=options.lease, poll_interval=POLL_INTERVAL
        )
    except ValueError as error:  # a mail URL or sender that cannot be used
        sessions.kw["bind"].dispose()
        raise Failure("bad_setting", str(error)) from None
    except SettingsProblem as problem:  # no usable secret key
        sessions.kw["bind"].dispose()
        raise Failure("bad_setting", problem.message, **problem.details) from None
    print(
        f"Roster mail worker {sender.holder} (database {mask_url(url)}, mail "
        f"{mask_url(settings.resolved_mail_url())})",
        flush=True,
    )
    try:
        asyncio.run(run_worker(sender))
    finally:
        sessions.kw["bind"].dispose()
    print("Roster mail worker stopped.", file=sys.stderr, flush=True)
    return Exit.OK


def migrate(options: argparse.Namespace) -> int:
    """Bring the database to this Roster's newest schema and say what was done."""
    settings = batch_settings(options)  # before polars is imported
    from tui.service.db import make_engine
    from tui.service.private_files import private_database
    from tui.service.schema import migrate as upgrade
    from tui.service.startup import check_data_dir, database_failures
    from tui.urls import mask_url

    url = settings.resolved_database_url()
    if not settings.database_url:
        check_data_dir(settings.data_dir)
        prepare_data_dir(settings.data_dir)
    with database_failures(url):
        private_database(url)
        engine = make_engine(url, lock_timeout=MIGRATION_LOCK_TIMEOUT)
        try:
            done = upgrade(engine)
        finally:
            engine.dispose()
    database = mask_url(url)
    if output_of(options) == "json":
        print_json(
            {
                "database": database,
                "from": done.before,
                "to": done.after,
                "applied": [{"id": r.id, "title": r.title} for r in done.applied],
            }
        )
        return Exit.OK
    if not done.applied:
        print(f"The database {database} is at the newest schema ({done.after}): nothing to do.")
        return Exit.OK
    start = f"from schema {done.before}" if done.before else "from an empty database"
    print(f"Migrated {database} {start} to {done.after}, {plural(len(done.applied), 'migration')}:")
    for revision in done.applied:
        print(f"  {revision.id}  {revision.title}")
    return Exit.OK


def admin(options: argparse.Namespace) -> int:
    """`roster admin ACTION`: the action (`options.create`, set by its subcommand) in one
    transaction on the database; what it created printed, or why nothing was."""
    settings = batch_settings(options)  # before polars is imported
    from sqlalchemy.exc import DatabaseError, IntegrityError

    from tui.service import admin as operator
    from tui.service.db import open_database, write_session
    from tui.service.private_files import private_database
    from tui.service.schema import migrates_on_open
    from tui.service.startup import check_data_dir, database_failures
    from tui.urls import mask_url

    output = output_of(options)
    try:
        if not options.database_url:
            check_data_dir(settings.data_dir)
            prepare_data_dir(settings.data_dir)
        url = settings.resolved_database_url()
        with database_failures(url):
            private_database(url)
            sessions = open_database(url, migrate=migrates_on_open(url))
        with write_session(sessions) as session, session.begin():
            created = options.create(session, options)
    except (operator.NotFoundError, operator.InvalidInput) as error:
        code = "not_found" if isinstance(error, operator.NotFoundError) else "invalid_input"
        code = getattr(error, "code", code)  # a contract or program change's broken rule
        return report_failure(Failure(code, str(error)), output)
    except IntegrityError:
        name = getattr(options, "name", None) or getattr(options, "email", "")
        return report_failure(Failure("already_exists", f"{name} already exists."), output)
    except DatabaseError as error:
        database = mask_url(settings.resolved_database_url())
        reason = str(error.orig).splitlines()[0] if error.orig else str(error)
        failure = Failure(
            "bad_database", f"Cannot use the database {database}: {reason}.", database=database
        )
        return report_failure(failure, output)
    print_record(output, created)
    if output == "table" and "token" in created:
        print("Keep the token: it is shown only once.", file=sys.stderr)
    return Exit.OK


# The admin actions: each makes one thing in the session and says what it made.


def create_org(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    from tui.service.admin import create_organization

    organization = create_organization(session, options.name)
    return {"id": organization.id, "name": organization.name}


def set_sender_name(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    from tui.service import admin as operator
    from tui.service import audit

    organization = _organization(session, options)
    before = organization.sender_name
    operator.set_sender_name(organization, options.name)
    if organization.sender_name != before:
        audit.record(
            session,
            organization.id,
            audit.Actor.operator(),
            "organization.sender_changed",
            details={"sender_name": organization.sender_name, "before": before},
        )
    return {
        "id": organization.id,
        "name": organization.name,
        "sender_name": organization.sender_name,
    }


def set_invitation_policy(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    """The organization's invitation lifetime and automatic reminder; the reminder as it was
    unless --remind-after-days or --no-remind says otherwise."""
    from tui.service import admin as operator
    from tui.service import audit
    from tui.service.policy import PolicyRefused, check_policy, set_policy

    organization = _organization(session, options)
    lifetime = options.lifetime_days
    if lifetime is None:  # left out: as it is
        lifetime = organization.invitation_lifetime_days
    remind = organization.remind_after_days
    if options.no_remind:
        remind = None
    elif options.remind_after_days is not None:
        remind = options.remind_after_days
    try:
        wanted = check_policy(lifetime, remind)
    except PolicyRefused as refusal:
        kept = (
            ""
            if remind is None or options.remind_after_days is not None
            else (
                f" The organization reminds after {plural(remind, 'day')} now: give "
                "--remind-after-days or --no-remind too."
            )
        )
        raise operator.InvalidInput(f"{refusal}{kept}") from None
    before, after = set_policy(session, organization, wanted, audit.Actor.operator())
    return {
        "id": organization.id,
        "name": organization.name,
        **after.as_dict(),
        "changed": before != after,
    }


def create_admin(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    from tui.service import admin as operator
    from tui.service import audit

    organization = _organization(session, options)
    if operator.active_admin(session, organization.id, options.email) is not None:
        raise operator.InvalidInput(
            f"{options.email.strip()} is already an admin of {organization.name}; an owner "
            "gives them a new token with `roster admins rotate EMAIL`."
        )
    programs = [
        operator.find_program(session, organization.id, ref) for ref in options.program or []
    ]
    admin_, token = operator.create_admin(
        session, organization, options.email, options.role, programs
    )
    named = [program.id for program in programs] or None
    audit.record(
        session,
        organization.id,
        audit.Actor.operator(),
        "admin.added",
        details={"email": admin_.email, "role": admin_.role, "programs": named},
    )
    return {
        "id": admin_.id,
        "email": admin_.email,
        "role": admin_.role,
        "programs": named,
        "token": token,
        "organization_id": organization.id,
    }


def create_program(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    from tui.service import admin as operator
    from tui.service import audit

    organization = _organization(session, options)
    program = operator.create_program(session, organization, options.name)
    audit.record(
        session,
        organization.id,
        audit.Actor.operator(),
        "program.created",
        program_id=program.id,
        details={"name": program.name},
    )
    return {"id": program.id, "name": program.name}


def create_contract(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    from tui.service import admin as operator
    from tui.service import audit

    organization = _organization(session, options)
    program = operator.find_program(session, organization.id, options.program)
    contract = operator.create_contract(
        session,
        organization,
        options.name,
        [program],
        seats=options.seats,
        starts_on=options.starts,
        ends_on=options.ends,
    )
    audit.record(
        session,
        organization.id,
        audit.Actor.operator(),
        "contract.created",
        program_id=program.id,
        contract_id=contract.id,
        details={
            "name": contract.name,
            "seats": contract.seats,
            "starts_on": contract.starts_on.isoformat() if contract.starts_on else None,
            "ends_on": contract.ends_on.isoformat() if contract.ends_on else None,
        },
    )
    return {
        "id": contract.id,
        "name": contract.name,
        "seats_total": contract.seats,
        "starts_on": contract.starts_on,
        "ends_on": contract.ends_on,
    }


def _organization(session: Session, options: argparse.Namespace) -> Organization:
    from tui.service.admin import find_organization

    return find_organization(session, options.org)
