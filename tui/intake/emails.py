"""Email verdicts identical to email-validator's (`check_deliverability=False`), fast.

The fast path decides, in one vectorized pass, only the addresses it can prove valid: plain ASCII
dot-atom local parts and ASCII host names that the library accepts unchanged but for lowercasing
the domain (and RFC 2142 role names such as `Info`). Anything else - every invalid address,
internationalized ones, Punycode, quoted local parts, special-use domains - goes to the library.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl

# RFC 5322 atext, escaped for the Rust regex engine.
_ATEXT = r"A-Za-z0-9_!#$%\&'*+/=?^`{|}\~\-"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
# All top-level domains end with a letter (the library rejects the others).
_TOP_LABEL = r"(?:[A-Za-z0-9][A-Za-z0-9\-]{0,61})?[A-Za-z]"
FAST_EMAIL = rf"^[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@(?:{_LABEL}\.)+{_TOP_LABEL}$"
# Domains the fast path leaves to the library: "--" (Punycode, R-LDH labels) and special-use names
# (FAST_EMAIL already requires a dot in the domain, so these are suffixes).
_SLOW_SUFFIXES = (".arpa", ".invalid", ".local", ".localhost", ".onion", ".test")
EMAIL_MAX_LENGTH = 254
# RFC 2142 mailbox names, which the library lowercases.
ROLE_MAILBOXES = [
    "info",
    "marketing",
    "sales",
    "support",
    "abuse",
    "noc",
    "security",
    "postmaster",
    "hostmaster",
    "usenet",
    "news",
    "webmaster",
    "www",
    "uucp",
    "ftp",
]


# What makes two addresses the same learner: their normalized forms, lowercased. Hashed with this
# seed, they are compared by hash first (see rules._duplicates).
KEY_SEED = 0


def same_learner_key(normalized: pl.Expr) -> pl.Expr:
    return normalized.str.to_lowercase()


def decide_fast(emails: pl.Series) -> pl.DataFrame:
    """The fast path, for the addresses it proves valid (else null): `normalized`, `domain` and
    `key_hash` (of `same_learner_key`, which for these is the address lowercased)."""
    email = pl.col("email")
    lowered = pl.col("lowered")
    domain = pl.col("domain")
    at = pl.col("at")
    fast = (
        email.str.contains(FAST_EMAIL)
        & (email.str.len_bytes() <= EMAIL_MAX_LENGTH)
        & ~domain.str.contains("--", literal=True)
        & ~pl.any_horizontal(domain.str.ends_with(suffix) for suffix in _SLOW_SUFFIXES)
    )
    # The library keeps the local part's case, except for RFC 2142 role names, and lowercases
    # the domain: most addresses come out unchanged. One streamed query, in which each step names
    # what later steps reuse (the engine computes an expression once per use).
    judged = (
        pl.DataFrame({"email": emails})
        .lazy()
        .with_columns(
            email.str.to_lowercase().alias("lowered"),
            email.str.find("@", literal=True).alias("at"),
        )
        .with_columns(lowered.str.slice(at + 1).alias("domain"))
        .with_columns(fast.alias("fast"))
        .select(
            pl.when(pl.col("fast") & (email == lowered)).then(email).alias("normalized"),
            pl.when("fast").then(domain).alias("domain"),
            pl.when("fast").then(lowered.hash(seed=KEY_SEED)).alias("key_hash"),
            (pl.col("fast") & (email != lowered)).alias("rebuild"),
        )
        .collect()
    )
    normalized = judged["normalized"]
    rebuild = judged["rebuild"].arg_true()
    if len(rebuild):  # the few with capitals: the local part as typed, the domain lowercased
        parts = pl.DataFrame(
            {"email": emails.gather(rebuild), "domain": judged["domain"].gather(rebuild)}
        ).with_columns(email.str.find("@", literal=True).alias("at"))
        local = email.str.slice(0, at)
        role = local.str.to_lowercase().is_in(ROLE_MAILBOXES)
        rebuilt = parts.select(
            pl.when(role)
            .then(email.str.to_lowercase())
            .otherwise(pl.concat_str(local, pl.lit("@"), domain))
        )[:, 0]
        normalized = normalized.clone().scatter(rebuild, rebuilt)
    return judged.select(normalized, "domain", "key_hash")


def judge_emails(emails: pl.Series) -> pl.DataFrame:
    """Judge each address as email-validator does, one row per input in order.

    Columns: `normalized` (the library's normalized form, null when invalid or empty), `reason`
    (the library's reason when invalid), `domain` (the normalized domain) and `key_hash` (the
    hash of `same_learner_key`).
    """
    with library_thread() as library:
        verdicts = EmailJudging(emails, library).result()
    reason = pl.Series("reason", [None] * len(emails), dtype=pl.String)
    reason.scatter(verdicts.refused["index"], verdicts.refused["reason"])
    return verdicts.judged.with_columns(reason).select("normalized", "reason", "domain", "key_hash")


@dataclass(frozen=True)
class Verdicts:
    """`judged`: per address, `normalized`, `domain` and `key_hash` (null when not valid);
    `refused`: the `index` and `reason` of the invalid ones (a few: kept apart)."""

    judged: pl.DataFrame
    refused: pl.DataFrame


@contextmanager
def library_thread() -> Iterator[Executor]:
    """A thread for the library's share of the judging (see EmailJudging).

    While any runs, the interpreter switches threads every millisecond rather than every five:
    the thread handing work to polars needs the lock only briefly, and would otherwise wait up
    to 5 ms each time for the library's thread to let go of it.
    """
    with _quick_switching, ThreadPoolExecutor(1, thread_name_prefix="email-library") as library:
        yield library


class _QuickSwitching:
    """The 1 ms switch interval while at least one user holds it (the service may check
    several files at once), and the interval as it was once none does."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._interval = sys.getswitchinterval()

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                self._interval = sys.getswitchinterval()
                sys.setswitchinterval(min(self._interval, 0.001))
            self._users += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                sys.setswitchinterval(self._interval)


_quick_switching = _QuickSwitching()


class EmailJudging:
    """`judge_emails` begun: the fast path decides the addresses chunk by chunk, and each chunk's
    others go to the library on the `library` thread at once. polars works without the
    interpreter's lock, which the library, plain Python, needs: the two run side by side, and
    so can whatever the caller does before asking for the `result`."""

    CHUNK = 250_000

    def __init__(self, emails: pl.Series, library: Executor) -> None:
        self._emails = emails
        fast: list[pl.DataFrame] = []
        self._asked: list[Future[list[tuple[str | None, str | None]]]] = []
        self._slow: list[pl.Series] = []
        seen: set[str] = set()
        for start in range(0, max(len(emails), 1), self.CHUNK):
            chunk = emails.slice(start, self.CHUNK)
            decided = decide_fast(chunk)
            fast.append(decided)
            others = chunk.filter(decided["normalized"].is_null() & (chunk != "")).unique()
            new = [email for email in others.to_list() if email not in seen]
            seen.update(new)
            if new:
                self._slow.append(pl.Series(new, dtype=pl.String))
                self._asked.append(library.submit(validate_with_library, new))
        self._fast = pl.concat(fast)

    def result(self) -> Verdicts:
        """The verdicts (once: the fast path's are let go, as the library's are written in)."""
        judged = self._fast
        del self._fast
        if not self._asked:
            return Verdicts(judged, pl.DataFrame(schema={"index": pl.UInt32, "reason": pl.String}))
        verdicts = [verdict for asked in self._asked for verdict in asked.result()]
        library = pl.DataFrame(
            {
                "email": pl.concat(self._slow),
                "normalized": [normalized for normalized, _ in verdicts],
                "reason": [reason for _, reason in verdicts],
            },
            schema={"email": pl.String, "normalized": pl.String, "reason": pl.String},
        )
        decided = (
            pl.DataFrame({"email": self._emails})
            .with_row_index("index")
            .filter(judged["normalized"].is_null() & (pl.col("email") != ""))
            .join(library, on="email")
        )
        valid = decided.filter(pl.col("normalized").is_not_null()).select(
            "index",
            "normalized",
            pl.col("normalized").str.extract(r"@([^@]*)$", 1).alias("domain"),
            same_learner_key(pl.col("normalized")).hash(seed=KEY_SEED).alias("key_hash"),
        )
        # Only the few the library accepted change: written in place, no join of every row.
        if valid.height:
            judged = pl.DataFrame(
                [
                    judged[name].clone().scatter(valid["index"], valid[name])
                    for name in judged.columns
                ]
            )
        refused = decided.filter(pl.col("reason").is_not_null()).select("index", "reason")
        return Verdicts(judged, refused)


def validate_with_library(emails: list[str]) -> list[tuple[str | None, str | None]]:
    """(normalized, None) or (None, reason) for each address, straight from email-validator."""
    from email_validator import EmailNotValidError, validate_email

    verdicts: list[tuple[str | None, str | None]] = []
    for email in emails:
        try:
            verdicts.append((validate_email(email, check_deliverability=False).normalized, None))
        except EmailNotValidError as error:
            verdicts.append((None, str(error)))
    return verdicts


# Mail domains people mistype most; an address at a near miss gets a warning.
COMMON_DOMAINS = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "outlook.com",
    "live.com",
    "icloud.com",
    "aol.com",
    "msn.com",
    "protonmail.com",
    "proton.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "comcast.net",
    "verizon.net",
    "orange.fr",
    "yandex.ru",
    "mail.ru",
    "qq.com",
)
# Real domains close to a common one, never flagged.
_KNOWN_DOMAINS = frozenset(COMMON_DOMAINS) | {
    "mail.com",
    "gmx.at",
    "gmx.ch",
    "live.co.uk",
    "live.fr",
    "me.com",
    "mac.com",
    "ymail.com",
    "rocketmail.com",
    "outlook.fr",
    "outlook.de",
    "hotmail.de",
    "yahoo.de",
    "yahoo.es",
}


def suggest_domain(domain: str) -> str | None:
    """The common mail domain `domain` is most likely a typo of, if any."""
    if domain in _KNOWN_DOMAINS or len(domain) < 6:
        return None
    for common in COMMON_DOMAINS:
        if abs(len(common) - len(domain)) <= 1 and _one_edit_apart(domain, common):
            return common
    return None


def _one_edit_apart(a: str, b: str) -> bool:
    """True when one insertion, deletion, substitution or swap of neighbours turns a into b."""
    if a == b:
        return False
    if len(a) == len(b):
        diffs = [index for index in range(len(a)) if a[index] != b[index]]
        if len(diffs) == 1:
            return True
        if len(diffs) != 2:
            return False
        first, second = diffs
        return second == first + 1 and a[first] == b[second] and a[second] == b[first]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return any(longer[:index] + longer[index + 1 :] == shorter for index in range(len(longer)))
