"""The dry run's request, written by the client, reads back in the service as the ready rows."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from tui.api.importer import check_request_csv, ready_rows
from tui.intake import read_learner_file
from tui.service import dry_run


def test_the_dry_run_sends_the_ready_rows_and_the_service_reads_them_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "learners.csv"
    path.write_text(
        "Full Name,Email,External ID\n"
        "Ann Lee,Ann.Lee@Example.ORG,A-1\n"  # normalized: the domain lowercased
        ",no.name@example.org,\n"  # an error: left out
        'Zoë "Z" Ö,zoë@exämple.org,\n'  # internationalized, quotes, no External ID
        'Bob,bob@example.org,"B\\2, ""quoted"""\n',  # a comma, quotes and a backslash
        encoding="utf-8",
    )
    learner_file = read_learner_file(path)
    sent = check_request_csv(learner_file)
    assert b"Bob" not in sent and b"Ann Lee" not in sent  # no names: the service needs none

    received = dry_run.read_csv(io.BytesIO(sent))

    rows = ready_rows(learner_file)
    assert received.to_dict(as_series=False) == rows.select(received.columns).to_dict(
        as_series=False
    )
    assert received["row"].to_list() == [2, 4, 5]
    assert received["external_id"].to_list() == ["A-1", None, 'B\\2, "quoted"']
    assert received.schema["row"] == pl.UInt32
