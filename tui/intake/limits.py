"""The limits on a learner file. The settings `max_file_bytes` and `max_rows` change them
(ROSTER_MAX_FILE_BYTES, ROSTER_MAX_ROWS, or config.toml); this module loads nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 200_000_000
    max_rows: int = 1_000_000


# The setting for each limit.
LIMIT_SETTINGS = {"max_file_bytes": "max_bytes", "max_rows": "max_rows"}
EXPECTED = "expected a positive whole number"


def positive_whole_number(value: object) -> int:
    """A limit as the environment or the config file gives it ("1_000", 1000); ValueError(EXPECTED)
    for anything else."""
    try:
        number = int(str(value).replace("_", "")) if not isinstance(value, bool) else 0
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(EXPECTED)
    return number
