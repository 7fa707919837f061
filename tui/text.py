"""Words for people: counts with their nouns (the one place Roster decides singular or plural),
and text folded for searching."""

from __future__ import annotations

import unicodedata


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """`singular` for exactly one, else `plural` (the singular with an s by default)."""
    return singular if count == 1 else plural or f"{singular}s"


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """`1 row`, `0 rows`, `1,000,000 rows`."""
    return f"{count:,} {noun(count, singular, plural)}"


def fold(text: str) -> str:
    """`text` as search compares it: without accents, case or compatibility forms (Élodie,
    ELODIE and elodie are the same)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def learner_search_key(full_name: str, email: str, external_id: str | None) -> str:
    """What the Users search looks in: the name, the email and the External ID, folded."""
    return fold(" ".join([full_name, email, external_id or ""]))
