"""The learner record's table drives what names its fields: the template, the header check, the
row rules, the wire models, the chunks and the stored columns follow LEARNER_FIELDS."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from pydantic import Field, ValidationError
from sqlalchemy import String, Table

from tests.intake.conftest import WriteFile, read
from tui.api.importer import chunk_csv, ready_rows
from tui.intake.fields import FIELD_NAMES, HEADERS, LEARNER_FIELDS, OPTIONAL_FIELDS, LearnerField
from tui.intake.report import RULES
from tui.intake.template import TEMPLATE
from tui.service.chunks import read_csv
from tui.service.db import Learner
from tui.wire import models as wire


def test_the_template_is_the_tables_headers_in_its_order() -> None:
    assert TEMPLATE == "Full Name,Email,External ID\r\n"
    assert ",".join(field.header for field in LEARNER_FIELDS) + "\r\n" == TEMPLATE


def test_the_header_check_names_the_tables_headers_and_its_optional_ones(
    write_file: WriteFile,
) -> None:
    learner_file = read(write_file(["Full Name,Email", "Ann Lee,ann@example.com"]))
    (problem,) = learner_file.report.file_errors
    assert problem.code == "missing_header"
    assert (
        'has no "External ID" column. All 3 headers are required: Full Name, Email and '
        "External ID - External ID even when it is empty. "
    ) in problem.message
    assert f"All {len(LEARNER_FIELDS)} headers are required" in problem.message


@pytest.mark.parametrize(
    "field", [f for f in LEARNER_FIELDS if f.judged_as_text], ids=lambda field: field.name
)
def test_each_text_field_is_held_to_its_own_limit(
    write_file: WriteFile, field: LearnerField
) -> None:
    cells = {"full_name": "Ann Lee", "email": "ann@example.com", "external_id": "E-1"}
    at_limit = {**cells, field.name: "x" * field.max_length}
    other = {"email": "bo@example.com", "external_id": "E-2"}
    over = {**cells, **other, field.name: "x" * (field.max_length + 1)}
    rows = [",".join(row[name] for name in FIELD_NAMES) for row in (at_limit, over)]
    learner_file = read(write_file([",".join(HEADERS), *rows]))
    issues = [(issue.row, issue.column, issue.code) for issue in learner_file.report.issues]
    assert issues == [(3, field.header, f"{field.name}_too_long")]
    assert RULES[f"{field.name}_too_long"].title == f"{field.header} too long"


def test_the_wire_models_name_a_column_per_field_in_the_tables_order() -> None:
    """The models are written out (see tui.wire.models): this holds them to the table."""
    assert ("row", *FIELD_NAMES) == wire.CHUNK_CSV_COLUMNS
    assert tuple(wire.RowBatch.model_fields) == ("row", *FIELD_NAMES)
    assert tuple(wire.LeftOutRows.model_fields) == ("row", *FIELD_NAMES, "error", "outcome")
    invite = wire.InviteLearner.model_fields
    assert tuple(invite)[: len(FIELD_NAMES)] == FIELD_NAMES
    for field in LEARNER_FIELDS:
        value: object = str if field.required else str | None
        batch = wire.RowBatch.model_fields[field.name].annotation
        assert (typing.get_origin(batch), typing.get_args(batch)) == (list, (value,))
        assert wire.LeftOutRows.model_fields[field.name].annotation == list[str]
        assert invite[field.name].annotation == value
        assert invite[field.name].is_required() == field.required


def test_an_invited_learner_is_a_batch_of_one_row_of_its_fields() -> None:
    invite = wire.InviteLearner(full_name="Ann Lee", email="ann@example.com", contract_id=1)
    assert invite.as_rows().model_dump() == {
        "row": [1],
        "full_name": ["Ann Lee"],
        "email": ["ann@example.com"],
        "external_id": [None],
    }


def test_rows_without_a_newer_optional_column_read_it_as_empty() -> None:
    """Clients and code that do not name a new optional column yet, and the left-out rows an
    import kept before it was added, still validate: the column is all empty."""

    class BatchWithDepartment(wire.RowBatch):
        department: list[str | None] = Field(default_factory=list)

    class LeftOutWithDepartment(wire.LeftOutRows):
        department: list[str] = Field(default_factory=list)

    rows: dict[str, list[object]] = {
        "row": [2, 3],
        "full_name": ["A", "B"],
        "email": ["a@x.org", "b@x.org"],
    }
    batch = BatchWithDepartment.model_validate({**rows, "external_id": [None, "E-3"]})
    assert batch.department == [None, None]
    kept = {**rows, "external_id": ["", "E-3"], "error": ["Row 2: …", "Row 3: …"]}
    assert LeftOutWithDepartment.model_validate(kept).department == ["", ""]
    empty: dict[str, list[object]] = {name: [] for name in wire.LEFT_OUT_COLUMNS}
    assert len(LeftOutWithDepartment.model_validate(empty)) == 0
    # A column without a default is required, absent or not: External ID's.
    with pytest.raises(ValidationError, match="external_id"):
        BatchWithDepartment.model_validate(rows)
    with pytest.raises(ValidationError, match="department must have the same length"):
        BatchWithDepartment.model_validate(
            {**rows, "external_id": [None, None], "department": ["Sales"]}
        )


def test_a_chunk_carries_a_column_per_field_and_the_service_reads_them_back(
    write_file: WriteFile,
) -> None:
    learner_file = read(
        write_file([",".join(HEADERS), "Ann Lee,Ann@Example.com,E-1", "Bo Li,bo@example.com,"])
    )
    chunk = chunk_csv(ready_rows(learner_file))
    assert chunk.splitlines()[0] == b"row,full_name,email,external_id"
    assert read_csv(chunk).rows(named=True) == [
        {"row": 2, "full_name": "Ann Lee", "email": "Ann@example.com", "external_id": "E-1"},
        {"row": 3, "full_name": "Bo Li", "email": "bo@example.com", "external_id": None},
    ]


def test_every_field_is_stored_in_a_column_of_learners_that_holds_its_longest_value() -> None:
    columns = typing.cast(Table, Learner.__table__).c
    for field in LEARNER_FIELDS:
        column = columns[field.stored]
        assert isinstance(column.type, String)
        assert column.type.length is not None and column.type.length >= field.max_length
        assert column.nullable == (field in OPTIONAL_FIELDS)


# A Department column: the table's row, as an engineer would add it below the others.
_DEPARTMENT = """
LEARNER_FIELDS = (
    *LEARNER_FIELDS,
    LearnerField(
        name="department",
        header="Department",
        kind="text",
        required=False,
        max_length=64,
        stored="department",
    ),
)
"""
_ANCHOR = "\nFIELD_NAMES: tuple[str, ...] ="

# Run in a fresh interpreter whose tui.intake.fields has one more row; prints what it found.
_WITH_DEPARTMENT = """
import importlib.util, json, sys
from pathlib import Path

import tui.intake

spec = importlib.util.find_spec("tui.intake.fields")
source = Path(spec.origin).read_text()
assert source.count(ANCHOR) == 1, "the table's derived names moved: update the test"
module = importlib.util.module_from_spec(spec)
sys.modules["tui.intake.fields"] = module
exec(compile(source.replace(ANCHOR, DEPARTMENT + ANCHOR), spec.origin, "exec"), module.__dict__)

from tui.api.importer import chunk_csv, ready_rows
from tui.intake.export import export_issues, preview_frame
from tui.intake.learner_file import read_learner_file
from tui.intake.report import RULES
from tui.intake.template import TEMPLATE
from tui.service.chunks import read_csv

folder = Path(sys.argv[1])
(folder / "three.csv").write_text("Full Name,Email,External ID\\nAnn Lee,ann@example.com,\\n")
missing = read_learner_file(folder / "three.csv").report.file_errors[0].message
(folder / "four.csv").write_text(
    "Full Name,Email,External ID,Department\\n"
    "Ann Lee,ann@example.com,E-1,Sales\\n"
    "Bo Li,bo@example.com,,\\n"
    "Cy Ng,cy@example.com,," + "d" * 65 + "\\n"
    "Di Wu,di@example.com,,=HR\\n"
    '"Ed Po",ed@example.com,,"Line\\nbreak"\\n'
)
checked = read_learner_file(folder / "four.csv")
issues = [[i.row, i.column, i.severity, i.code, i.message] for i in checked.report.issues]
errors = export_issues(preview_frame(checked), folder / "errors.csv")
chunk = chunk_csv(ready_rows(checked))
print(json.dumps({
    "template": TEMPLATE,
    "missing": missing,
    "issues": issues,
    "learners": checked.learners.columns,
    "title": RULES["department_too_long"].title,
    "errors_file": errors.read_text(encoding="utf-8-sig").splitlines()[0],
    "chunk": chunk.decode().splitlines(),
    "read_back": read_csv(chunk)["department"].to_list(),
}))
"""


def test_an_optional_text_column_is_a_row_in_the_table(tmp_path: Path) -> None:
    """With a Department row in the table and nothing else changed, the intake reads, checks
    and writes it, and the client's chunks carry it to the service's reader."""
    script = _WITH_DEPARTMENT.replace("ANCHOR", repr(_ANCHOR)).replace(
        "DEPARTMENT", repr(_DEPARTMENT)
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["template"] == "Full Name,Email,External ID,Department\r\n"
    assert (
        'has no "Department" column. All 4 headers are required: Full Name, Email, External ID '
        "and Department - External ID and Department even when they are empty."
    ) in found["missing"]
    assert found["issues"] == [
        [
            4,
            "Department",
            "error",
            "department_too_long",
            "Department has 65 characters; shorten it to 64 or fewer.",
        ],
        [
            5,
            "Department",
            "warning",
            "formula_like",
            'Department starts with "=", which a spreadsheet may run as a formula; Roster '
            "keeps it as text.",
        ],
        [
            6,
            "Department",
            "error",
            "invalid_department",
            "Department contains a line break; retype it on one line.",
        ],
    ]
    assert found["learners"][:6] == [
        "row",
        "full_name",
        "email",
        "external_id",
        "department",
        "overflow",
    ]
    assert found["title"] == "Department too long"
    assert found["errors_file"] == "Full Name,Email,External ID,Department,Error"
    assert found["chunk"] == [
        "row,full_name,email,external_id,department",
        "2,Ann Lee,ann@example.com,E-1,Sales",
        "3,Bo Li,bo@example.com,,",
        "5,Di Wu,di@example.com,,=HR",
    ]
    assert found["read_back"] == ["Sales", None, "=HR"]
