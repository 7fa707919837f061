"""The dry run's request, written by polars, is the document pydantic would write."""

from __future__ import annotations

from pathlib import Path

from tui.api import models as wire
from tui.api.importer import check_request_json, ready_rows
from tui.intake import read_learner_file


def test_the_dry_run_request_holds_the_ready_rows_as_pydantic_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text(
        "Full Name,Email,External ID\n"
        "Ann Lee,Ann.Lee@Example.ORG,A-1\n"  # normalized: the domain lowercased
        ",no.name@example.org,\n"  # an error: left out
        'Zoë "Z" Ö,zoë@exämple.org,\n'  # internationalized, quotes
        "Bob,bob@example.org,B\\2\n",
        encoding="utf-8",
    )
    learner_file = read_learner_file(path)
    rows = ready_rows(learner_file)
    expected = wire.CheckRequest(
        contract_id=7,
        rows=wire.CheckRows(row=rows.row, email=rows.email, external_id=rows.external_id),
    )
    written = check_request_json(learner_file, 7)
    assert written == expected.model_dump_json().encode()
    assert wire.CheckRequest.model_validate_json(written).rows.row == [2, 4, 5]
