"""Where the commands find their service: `roster login` keeps a service's URL and token in the
config file, `roster logout` forgets them, `roster config` shows every setting and its source."""

from __future__ import annotations

import argparse
import sys

from tui.cli.options import BadArguments, batch_settings
from tui.cli.output import output_of, print_list
from tui.outcome import Exit


def login(options: argparse.Namespace) -> int:
    """Ask for the token (before anything runs: no event loop waits on the keyboard), check it
    with the service, keep both in the config file (0600)."""
    if "token" in vars(options):
        raise BadArguments(
            "login asks for the token (or reads it from standard input); --token would "
            "show it to every user in the process list"
        )
    from tui.cli.client import CommandError, run

    batch_settings(options)  # a bad setting is told before the token is asked for
    api_url: str = options.api_url
    token = _read_token(api_url)
    if not token:
        raise CommandError("No token given: paste the admin token when asked, or pipe it in.")
    return run(_keep_login(api_url, token))


def _read_token(api_url: str) -> str:
    """The token typed without echo at a terminal, else the first line of standard input."""
    import getpass

    from tui.urls import mask_url

    if sys.stdin.isatty():
        return getpass.getpass(f"Admin token for {mask_url(api_url, 'http')}: ").strip()
    return sys.stdin.readline().strip()


async def _keep_login(api_url: str, token: str) -> int:
    from tui.cli.client import service_client
    from tui.config_file import CONFIG_FILE
    from tui.settings import update_config_file
    from tui.urls import mask_url

    async with service_client(api_url, token) as client:
        me = await client.me()
    update_config_file({"api_url": api_url, "token": token})
    where = mask_url(api_url, "http")
    print(
        f"Logged in to {where} as {me.admin_email} ({me.organization.name}); kept in "
        f"{CONFIG_FILE}.",
        file=sys.stderr,
    )
    return Exit.OK


def logout(options: argparse.Namespace) -> int:
    from tui.config_file import CONFIG_FILE
    from tui.memory import configure_batch_allocator
    from tui.settings import update_config_file

    configure_batch_allocator()
    update_config_file({"api_url": None, "token": None})
    print(f"Forgot the service's URL and token ({CONFIG_FILE}).", file=sys.stderr)
    return Exit.OK


def config(options: argparse.Namespace) -> int:
    """Every resolved setting, where it came from, secrets masked."""
    settings = batch_settings(options)
    from tui.config_file import source_of
    from tui.settings import shown

    flags = {name for name in ("api_url", "token", "data_dir") if name in vars(options)}
    rows = [
        {
            "setting": name,
            "value": shown(name, getattr(settings, name)),
            "source": source_of(name, dict.fromkeys(flags)),
        }
        for name in settings.names()
    ]
    print_list(
        output_of(options), rows, ["SETTING", "VALUE", "FROM"], [list(r.values()) for r in rows]
    )
    return Exit.OK
