"""Email verdicts equal email-validator's, and the fast path only decides what it provably may."""

from __future__ import annotations

import sys

import polars as pl
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.intake.emails import decide_fast, judge_emails, library_thread, suggest_domain


def library_verdict(email: str) -> tuple[str | None, str | None]:
    try:
        return validate_email(email, check_deliverability=False).normalized, None
    except EmailNotValidError as error:
        return None, str(error)


ATEXT = "abcXYZ019!#$%&'*+-/=?^_`{|}~"
TRICKY_LOCAL_CHARS = ATEXT + '.."@ \\()<>[],;:\u00e9\u00df\u0301\u200b\u00a0\u4e2d\U0001f600'
TRICKY_DOMAIN_CHARS = "abcXYZ019-._\u00e9\u00fc\u0441\u4e2d\u3002\uff0e\u2488 "
TLDS = [
    "com",
    "COM",
    "org",
    "io",
    "c0m",
    "123",
    "test",
    "local",
    "localhost",
    "invalid",
    "onion",
    "arpa",
    "example",
    "xn--p1ai",
    "xn--zz",
    "co.uk",
    "рф",
    "ab--cd",
    "-bad",
    "bad-",
    "",
]

local_parts = st.one_of(
    st.text(alphabet=ATEXT + ".", min_size=1, max_size=12),
    st.text(alphabet=TRICKY_LOCAL_CHARS, min_size=0, max_size=12),
    st.sampled_from(["Info", "POSTMASTER", "support", "a" * 63, "a" * 64, "a" * 65, '"a b"']),
)
labels = st.one_of(
    st.text(alphabet="abcXYZ019-", min_size=1, max_size=10),
    st.text(alphabet=TRICKY_DOMAIN_CHARS, min_size=0, max_size=10),
    st.sampled_from(["xn--bcher-kva", "xn--", "a" * 62, "a" * 63, "a" * 64, "ab--c", "EXAMPLE"]),
)
domains = st.builds(
    lambda parts, tld: ".".join([*parts, tld]) if tld else ".".join(parts),
    st.lists(labels, min_size=1, max_size=4),
    st.sampled_from(TLDS),
)
addresses = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains),
    st.builds(
        lambda local, pad, domain: f"{local}@{'a' * pad}.{domain}",
        local_parts,
        st.integers(min_value=150, max_value=250),
        domains,
    ),
    st.text(max_size=30),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(addresses, min_size=1, max_size=40))
def test_every_verdict_equals_email_validators(emails: list[str]) -> None:
    judged = judge_emails(pl.Series(emails, dtype=pl.String))
    for email, normalized, reason in zip(
        emails, judged["normalized"], judged["reason"], strict=True
    ):
        if email == "":
            assert (normalized, reason) == (None, None)
            continue
        assert (normalized, reason) == library_verdict(email), email


@settings(max_examples=400, deadline=None)
@given(st.lists(addresses, min_size=1, max_size=40))
def test_fast_path_decides_only_addresses_the_library_accepts_unchanged(emails: list[str]) -> None:
    fast = decide_fast(pl.Series(emails, dtype=pl.String))
    for email, normalized in zip(emails, fast["normalized"], strict=True):
        if normalized is not None:
            assert library_verdict(email) == (normalized, None), email


def test_fast_path_decides_the_plain_ascii_majority() -> None:
    plain = [
        "ann.lee@example.com",
        "Bob.Ray+courses@Mail.Example.CO.UK",
        "o'brien@acme-learning.io",
        "INFO@Example.com",
        "x_y-z@a1.b2.cd",
    ]
    decided = decide_fast(pl.Series(plain))["normalized"].to_list()
    assert decided == [library_verdict(email)[0] for email in plain]
    assert decided[3] == "info@example.com"


def test_fast_path_leaves_the_rest_to_the_library() -> None:
    others = [
        "jose@españa.es",  # internationalized domain
        "ünïcode@example.com",  # internationalized local part
        "ann@xn--bcher-kva.example",  # Punycode
        '"ann lee"@example.com',  # quoted local part
        "ann@site.test",  # special-use
        "ann@example",  # no dot
        "ann..lee@example.com",
        "a" * 250 + "@example.com",  # too long
    ]
    assert decide_fast(pl.Series(others))["normalized"].to_list() == [None] * len(others)


def test_domain_typos_flag_near_misses_of_common_domains_only() -> None:
    assert suggest_domain("gmial.com") == "gmail.com"
    assert suggest_domain("gmail.con") == "gmail.com"
    assert suggest_domain("hotmal.com") == "hotmail.com"
    assert suggest_domain("yaho.com") == "yahoo.com"
    for real in ("gmail.com", "mail.com", "example.com", "acme.io", "me.com", "ymail.com"):
        assert suggest_domain(real) is None, real


def test_the_switch_interval_is_restored_once_every_judging_is_done() -> None:
    before = sys.getswitchinterval()
    first, second = library_thread(), library_thread()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == 0.001  # the second still judges
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before
