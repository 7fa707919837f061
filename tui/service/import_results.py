"""An import's results: one line per row of its file with its outcome (invited, skipped,
error, left_out) and why, rebuilt after the commit from what the import keeps.

- the invited rows: the import's invitations in id order (the order the commit inserted them,
  the file's), numbered by `Import.invited_rows`, with the learners' names and emails;
- the skipped rows and the rows the service refused: the commit's issues (`Import.issues`);
- the rows with errors the client did not upload, the rows the admin left out, and the names
  and emails of every row not invited: the rows not invited that the client kept
  (`Import.left_out`), when it did.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui.intake.report import SKIP_CODES
from tui.service.db import Import, Invitation, Learner
from tui.wire import models as wire


def import_results(session: Session, record: Import) -> wire.ImportResults:
    """The committed import's results, in row order (see the module's note)."""
    unnumbered: list[dict[str, Any]] = []  # invited rows of an import that kept no numbers
    lines: dict[int, dict[str, Any]] = {}
    for line in _invited(session, record):
        if line["row"] is None:
            unnumbered.append(line)
        else:
            lines[line["row"]] = line
    for problem in record.issues:  # warnings (learner_differs) leave a row invited
        line = lines.setdefault(problem["row"], _line(problem["row"], "invited"))
        if problem["severity"] == "error":
            line["outcome"] = "error"
        elif problem["code"] in SKIP_CODES and line["outcome"] != "error":
            line["outcome"] = "skipped"
        line["reasons"].append(problem["message"])
    kept = record.left_out or {}
    outcomes = kept.get("outcome") or [""] * len(kept.get("row", []))
    for index, row in enumerate(kept.get("row", [])):
        if row not in lines:  # an error the client found before the upload, or left out
            lines[row] = _line(row, "left_out" if outcomes[index] == "left_out" else "error")
            lines[row]["reasons"].append(kept["error"][index])
        for name in ("full_name", "email", "external_id"):
            lines[row][name] = kept[name][index]
    ordered = [lines[row] for row in sorted(lines)] + unnumbered
    return wire.ImportResults(
        row=[line["row"] for line in ordered],
        full_name=[line["full_name"] for line in ordered],
        email=[line["email"] for line in ordered],
        external_id=[line["external_id"] for line in ordered],
        outcome=[line["outcome"] for line in ordered],
        reason=["; ".join(line["reasons"]) for line in ordered],
    )


def _line(row: int | None, outcome: str) -> dict[str, Any]:
    return {
        "row": row,
        "full_name": "",
        "email": "",
        "external_id": "",
        "outcome": outcome,
        "reasons": [],
    }


def _invited(session: Session, record: Import) -> list[dict[str, Any]]:
    """The invited rows: the import's invitations in id order, numbered by its invited rows'
    runs (None each when the import kept none, or they do not add up)."""
    learners = session.execute(
        select(Learner.full_name, Learner.email, Learner.external_id)
        .join(Invitation, Invitation.learner_id == Learner.id)
        .where(Invitation.import_id == record.id)
        .order_by(Invitation.id)
    ).all()
    runs = record.invited_rows or []
    rows: list[int | None] = list(chain.from_iterable(range(a, b + 1) for a, b in runs))
    if len(rows) != len(learners):
        rows = [None] * len(learners)
    lines = []
    for row, (full_name, email, external_id) in zip(rows, learners, strict=True):
        line = _line(row, "invited")
        line.update(full_name=full_name, email=email, external_id=external_id or "")
        lines.append(line)
    return lines
