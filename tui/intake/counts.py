"""The words for an import's row counts, defined once: the preview's summary and filters, Import
complete, the Imports page, `roster import` and `roster imports` all count and name rows so.

Every row of a file is exactly one of ready (invited, once committed), with errors, skipped or
left out; "with warnings" is a part of ready, never counted beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.intake.report import Report
from tui.text import plural


@dataclass(frozen=True)
class Term:
    """A count's key (in JSON), its words after a number, and what it counts."""

    key: str
    words: str
    definition: str


READY = Term(
    "ready",
    "ready",
    "rows the import invites: no error, not skipped, not left out (rows with warnings included)",
)
WARNINGS = Term(
    "warnings",
    "with warnings",
    "ready rows that carry a warning: a part of ready, invited all the same",
)
ERRORS = Term("errors", "with errors", "rows with an error: not invited until the row is fixed")
SKIPPED = Term(
    "skipped",
    "skipped",
    "rows without errors whose learner needs no invitation (already invited, already a member)",
)
LEFT_OUT = Term(
    "left_out",
    "left out",
    "rows the admin left out of the import on the preview (d): not checked, not invited",
)
INVITED = Term("invited", "invited", "after the commit: the ready rows the import invited")

TERMS = (READY, WARNINGS, ERRORS, SKIPPED, LEFT_OUT)
# The preview's row statuses (tui.intake.export.preview_frame) each term counts: ready takes
# the rows with warnings in.
STATUSES = {
    READY: ("ready", "warning"),
    WARNINGS: ("warning",),
    ERRORS: ("error",),
    SKIPPED: ("skipped",),
    LEFT_OUT: ("left_out",),
}
# The reason a left-out row carries in the rows not invited and in an import's results.
LEFT_OUT_REASON = "Left out by the admin."


@dataclass(frozen=True)
class Counts:
    """A file's or an import's rows in the words above. `ready` is the invited rows once the
    import is committed."""

    ready: int = 0
    warnings: int = 0
    errors: int = 0
    skipped: int = 0
    left_out: int = 0

    @classmethod
    def of_report(cls, report: Report) -> Counts:
        """A checked file's counts, as the preview shows them."""
        return cls(
            ready=report.ready,
            warnings=report.warnings,
            errors=report.errors,
            skipped=report.skipped,
            left_out=report.left_out,
        )

    def as_dict(self, *, committed: bool = False) -> dict[str, int]:
        """The counts by their JSON keys; `invited` for `ready` once committed."""
        ready = INVITED if committed else READY
        return {
            ready.key: self.ready,
            WARNINGS.key: self.warnings,
            ERRORS.key: self.errors,
            SKIPPED.key: self.skipped,
            LEFT_OUT.key: self.left_out,
        }

    @property
    def not_invited(self) -> int:
        """The rows the import does not invite: with errors, skipped and left out."""
        return self.errors + self.skipped + self.left_out

    def line(self, *, committed: bool = False) -> str:
        """`112 ready (3 with warnings) · 4 with errors · 2 skipped · 1 left out`; after the
        commit, `invited` for ready. Warnings and left out are named when there are any."""
        ready = INVITED if committed else READY
        parts = [
            f"{self.ready:,} {ready.words}"
            + (f" ({self.warnings:,} {WARNINGS.words})" if self.warnings else ""),
            f"{self.errors:,} {ERRORS.words}",
            f"{self.skipped:,} {SKIPPED.words}",
        ]
        if self.left_out:
            parts.append(f"{self.left_out:,} {LEFT_OUT.words}")
        return " · ".join(parts)

    def not_invited_line(self) -> str:
        """`7 rows not invited: 4 with errors, 2 skipped, 1 left out` (left out named when
        there are any, as in `line`)."""
        left_out = f", {self.left_out:,} {LEFT_OUT.words}" if self.left_out else ""
        return (
            f"{plural(self.not_invited, 'row')} not invited: {self.errors:,} {ERRORS.words}, "
            f"{self.skipped:,} {SKIPPED.words}{left_out}"
        )
