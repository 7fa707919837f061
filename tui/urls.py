"""The URLs of Roster's settings, read as the program that uses each one reads it, and printed
with the password hidden.

A database URL is read by SQLAlchemy (`make_url`); the service's URL by httpx (the API client),
whose reading of the authority `urllib.parse` shares (up to the first / ? or #, the password
between the first : and the last @), so it is read with that here, which the service may import;
a mail URL by `urllib.parse` (the mail transport); the public URL too (it only prefixes the
learners' links). Each is checked here when the settings load, so a URL its program
cannot read is a bad setting, and `mask_url` hides the password where that program finds it,
however it is written (`/ ? # @ :` in it, percent-encoded or not). A URL that cannot be read at
all is shown with everything before its last `@` hidden: whatever it holds stays private.

sqlalchemy is imported only when a database URL is read.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

HIDDEN = "***"
DB_HINT = "a password holding @ must be written %40"
PASSWORD_HINT = "a password holding / ? # or @ must be written %2F %3F %23 %40"

Kind = Literal["database", "http", "mail", "public"]


class BadUrl(ValueError):
    """A URL its program cannot read, and why; its text never holds the URL's password."""


def kind_of(url: str) -> Kind | None:
    """Which program reads a URL, from its scheme."""
    scheme = url.partition("://")[0].lower()
    if scheme.startswith(("sqlite", "postgresql")):
        return "database"
    if scheme in ("http", "https"):
        return "http"
    if scheme in ("smtp", "smtps", "maildir"):
        return "mail"
    return None


def mask_url(url: str, kind: Kind | None = None) -> str:
    """The URL with its password replaced by ***, for anything Roster prints or logs. `kind`
    names the program that reads it (else its scheme does)."""
    kind = kind or kind_of(url)
    try:
        if kind == "database":
            return _masked_database_url(url)
        if kind in ("http", "mail", "public"):
            return _masked_authority(url, _split_password(url))
    except ValueError:
        pass
    return _masked_blindly(url)


def check_database_url(url: str) -> None:
    """A database URL SQLAlchemy reads as it was meant, else BadUrl."""
    if not url.startswith(("sqlite:///", "postgresql")):
        raise BadUrl("expected sqlite:///path or postgresql://user@host/database")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as error:
        raise BadUrl(f"expected a URL SQLAlchemy can read{_reason(error, url, DB_HINT)}") from None
    if parsed.host and "@" in parsed.host:
        raise BadUrl(f"expected a URL SQLAlchemy can read; {DB_HINT}")


def check_http_url(url: str) -> None:
    """An http:// or https:// URL with a host, its password written so that httpx reads it
    whole, else BadUrl."""
    expected = "expected an http:// or https:// URL"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it checks it)
    except ValueError as error:
        raise BadUrl(f"{expected}{_reason(error, url)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadUrl(expected)
    _no_at_after_authority(url, expected)


def check_public_url(url: str) -> None:
    """The learners' links' http:// or https:// prefix, else BadUrl."""
    check_http_url(url)


def check_mail_url(url: str) -> None:
    """A mail URL the mail transport reads (tui.service.mail.transports), else BadUrl."""
    expected = "expected smtp://host:port, smtps://host:port or maildir:///path"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it checks it)
    except ValueError as error:
        raise BadUrl(f"{expected}{_reason(error, url)}") from None
    if parts.scheme not in ("smtp", "smtps", "maildir"):
        raise BadUrl(expected)
    if parts.scheme != "maildir":
        _no_at_after_authority(url, expected)


def _masked_database_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ValueError(str(error)) from None
    if parsed.host and "@" in parsed.host:  # part of the password read as the host
        raise ValueError("an @ in the host")
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)


def _split_password(url: str) -> str:
    parts = urlsplit(url)
    parts.port  # noqa: B018 (a password read as the port raises here)
    return parts.password or ""


def _masked_authority(url: str, password: str) -> str:
    """`url` with the password of its authority (up to the first / ? #, as httpx and urllib
    read it) hidden; the rest of the text as it was written. An @ after the authority may end
    a password that held / ? or #: everything before it is hidden."""
    scheme, _, rest = url.partition("://")
    end = _authority_end(rest)
    if "@" in rest[end:]:
        return _masked_blindly(url)
    if not password:
        return url
    userinfo, _, host = rest[:end].rpartition("@")
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:{HIDDEN}@{host}{rest[end:]}"


def _authority_end(rest: str) -> int:
    """Where the authority of a URL's text after `scheme://` ends: at its first / ? or #."""
    return min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))


def _no_at_after_authority(url: str, expected: str) -> None:
    rest = url.partition("://")[2]
    if "@" in rest[_authority_end(rest) :]:
        # A password holding an unencoded / ? or #: what follows it was read as the path.
        raise BadUrl(f"{expected}; {PASSWORD_HINT}")


def _masked_blindly(url: str) -> str:
    """A URL no parser could read: everything before its last @ (where a password could be)
    hidden."""
    if "@" not in url:
        return url
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    tail = rest.rpartition("@")[2]
    return f"{scheme}{separator}{HIDDEN}@{tail}"


def _reason(error: Exception, url: str, password: str = PASSWORD_HINT) -> str:
    """Why a parser refused a URL; when the URL may hold a password (an @), not the parser's
    words, which may quote it, but how a password is written (`password`)."""
    if "@" in url:
        return f"; {password}"
    return f" ({str(error).splitlines()[0] if str(error) else type(error).__name__})"
