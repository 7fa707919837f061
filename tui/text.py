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


# Latin letters that are no letter with an accent, so Unicode does not decompose them: folded
# as a person without them on their keyboard types the name (Søren: soren, Łukasz: lukasz).
_LETTERS = str.maketrans(
    {
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ħ": "h",
        "Ħ": "h",
        "ŧ": "t",
        "Ŧ": "t",
        "ı": "i",
        "ĸ": "k",
        "ŋ": "n",
        "Ŋ": "n",
    }
)
# The letters above: a stored key holding one of them was folded before they were (0016).
UNFOLDED_LETTERS = "øØłŁæÆœŒđĐðÐþÞħĦŧŦıĸŋŊ"


def fold(text: str) -> str:
    """`text` as search compares it: without accents, case or compatibility forms (Élodie,
    ELODIE and elodie are the same), and with the Latin letters Unicode does not decompose
    written as plain ones (Søren, SØREN and soren are the same)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return plain.translate(_LETTERS).casefold()


def learner_search_key(full_name: str, email: str, external_id: str | None) -> str:
    """What the Users search looks in: the name, the email and the External ID, folded."""
    return fold(" ".join([full_name, email, external_id or ""]))
