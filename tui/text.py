"""Words for people: counts with their nouns, the one place Roster decides singular or plural."""

from __future__ import annotations


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """`singular` for exactly one, else `plural` (the singular with an s by default)."""
    return singular if count == 1 else plural or f"{singular}s"


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """`1 row`, `0 rows`, `1,000,000 rows`."""
    return f"{count:,} {noun(count, singular, plural)}"
