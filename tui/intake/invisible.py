"""Invisible characters inside a learner's value: which are damage, where, and what to say.

A cell is trimmed of them at both ends (TRIM_CHARS); inside a value they stay, as the file has
them: Roster keeps the value exactly as read, because U+200C and U+200D are part of the spelling
of Persian, Arabic and Indic names. Elsewhere they are what a web form or a copy from a chat left
behind, and make "Ann Lee" and "Ann\u200b Lee" two names that look the same: a search for the
one misses the other, and the next file with the clean name reads as a learner who differs.
"""

from __future__ import annotations

import unicodedata

from tui.intake.fields import LearnerField
from tui.intake.report import quote

# Each invisible character a cell may hold inside, with the name a message gives it.
INVISIBLE_CHARACTERS = {
    "\u200b": "zero-width space",
    "\u200c": "zero-width non-joiner",
    "\u200d": "zero-width joiner",
    "\u2060": "word joiner",
    "\ufeff": "zero-width no-break space",
}
# A regex class of them, for a quick test of a whole column.
INVISIBLE_CLASS = "[" + "".join(INVISIBLE_CHARACTERS) + "]"
# The two that join or part letters in scripts that need them.
_JOINERS = ("\u200c", "\u200d")
# How much of the value before the character a message quotes.
_BEFORE_CHARS = 24


def first_invisible(value: str) -> int | None:
    """The 0-based index of the first invisible character of `value` that is not writing:
    every one, except a joiner between two letters of a script other than Latin."""
    for index, char in enumerate(value):
        if char not in INVISIBLE_CHARACTERS:
            continue
        if char in _JOINERS and _joins_letters(value, index):
            continue
        return index
    return None


def invisible_message(field: LearnerField, value: str) -> str | None:
    """The warning for `value` of `field`, or None when it holds no invisible character that
    is damage: which character, at which position, after what, and how to be rid of it."""
    index = first_invisible(value)
    if index is None:
        return None
    char = value[index]
    before = value[max(0, index - _BEFORE_CHARS) : index]
    where = (
        f'after "{quote("…" + before if index > _BEFORE_CHARS else before)}"'
        if before
        else "before its first character"
    )
    return (
        f"{field.header} has an invisible {INVISIBLE_CHARACTERS[char]} (U+{ord(char):04X}) at "
        f"character {index + 1} of {len(value)}, {where}. Roster keeps it as it is, so this "
        f"{field.header} does not match the same one typed without it: delete the characters "
        "around it and type them again, in the file or by editing the row."
    )


def _joins_letters(value: str, index: int) -> bool:
    before = value[index - 1] if index > 0 else ""
    after = value[index + 1] if index + 1 < len(value) else ""
    return _letter_of_joining_script(before) and _letter_of_joining_script(after)


def _letter_of_joining_script(char: str) -> bool:
    return (
        bool(char)
        and unicodedata.category(char).startswith(("L", "M"))
        and not unicodedata.name(char, "").startswith("LATIN")
    )
