"""How tui.urls hides a URL's password: where the program that reads the URL finds it, and
before the last @ of a URL no program can read."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tui.urls import BadUrl, check_database_url, check_http_url, check_mail_url, mask_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://roster:pa/ss?x#y:z@db:5432/roster",
            "postgresql://roster:***@db:5432/roster",
        ),
        (
            "postgresql+psycopg://roster:p%40ss@db/roster?sslmode=require",
            "postgresql+psycopg://roster:***@db/roster?sslmode=require",
        ),
        ("postgresql://roster:p@ss@db/roster", "postgresql://***@db/roster"),
        ("postgresql://roster:pw@[::1/roster", "postgresql://***@[::1/roster"),
        ("sqlite:////srv/roster/roster.db", "sqlite:////srv/roster/roster.db"),
        (
            "http://admin:p@ss:w%2Frd@roster.example:8000/x",
            "http://admin:***@roster.example:8000/x",
        ),
        ("http://admin:pa/ss@roster.example", "http://***@roster.example"),
        ("http://admin:12/34@roster.example", "http://***@roster.example"),
        ("http://[::1", "http://[::1"),
        (
            "smtps://mailer:pa%23ss@smtp.example:465?verify=false",
            "smtps://mailer:***@smtp.example:465?verify=false",
        ),
        ("smtp://mailer:pa#ss@smtp.example:587", "smtp://***@smtp.example:587"),
        ("maildir:///var/roster/outbox", "maildir:///var/roster/outbox"),
    ],
)
def test_the_password_is_hidden_wherever_it_is_read(url: str, shown: str) -> None:
    assert mask_url(url) == shown


@pytest.mark.parametrize(
    ("check", "url"),
    [
        (check_database_url, "postgresql://roster:p@ss@db/roster"),
        (check_database_url, "postgresql://roster:pw@[::1/roster"),
        (check_http_url, "http://[::1"),
        (check_http_url, "http://admin:pa/ss@roster.example"),
        (check_http_url, "http://admin:12/34@roster.example"),
        (check_mail_url, "smtp://mailer:pa?ss@smtp.example:587"),
        (check_mail_url, "smtp://mailer:12#34@smtp.example:587"),
    ],
)
def test_a_url_its_program_misreads_is_refused_without_its_password(
    check: Callable[[str], None], url: str
) -> None:
    with pytest.raises(BadUrl) as refused:
        check(url)
    assert "ss" not in str(refused.value).replace("password", "")
    assert "34" not in str(refused.value)
