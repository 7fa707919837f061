"""The dry run reads its rows as JSON or CSV with polars; a body it cannot read is a 422 that
says what is wrong and what to send, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.service.conftest import Service, batch, upload_and_commit
from tui.service import dry_run


def check(service: Service, content: bytes, media_type: str, **params: Any) -> httpx.Response:
    acme = service.acme
    response: httpx.Response = service.http.post(
        f"/api/v1/programs/{acme.programs['Leadership']}/invitations/check",
        headers={**service.as_(acme), "Content-Type": media_type},
        content=content,
        params=params,
    )
    return response


def test_json_and_csv_dry_runs_give_the_same_verdicts(service: Service) -> None:
    acme = service.acme
    upload_and_commit(service, acme, "k", batch(2), contract="Ten seats")  # 2 seats taken
    rows = batch(4)
    contract = acme.contracts["Ten seats"]
    as_json = service.http.post(
        f"/api/v1/programs/{acme.programs['Leadership']}/invitations/check",
        headers=service.as_(acme),
        json={
            "contract_id": contract,
            "rows": {key: rows[key] for key in ("row", "email", "external_id")},
        },
    )
    columns = zip(rows["row"], rows["email"], rows["external_id"], strict=True)
    lines = ["row,email,external_id", *(",".join(map(str, values)) for values in columns)]
    as_csv = check(service, "\n".join(lines).encode(), "text/csv", contract_id=contract)

    assert as_json.status_code == as_csv.status_code == 200
    assert as_json.json() == as_csv.json()
    verdict = as_csv.json()
    assert (verdict["ready"], verdict["skipped"], verdict["seats_left"]) == (2, 2, 8)
    # The skipped rows come as row numbers: the client has their emails to word them.
    assert verdict["skipped_rows"] == {"already_member": [], "already_invited": [2, 3]}
    assert verdict["issues"] == []


@pytest.mark.parametrize(
    ("content", "media_type", "params", "says"),
    [
        (b"", "application/json", {}, "not a dry-run request"),
        (b"[1, 2]", "application/json", {}, "not a dry-run request"),
        (b'{"contract_id": "x", "rows": {}}', "application/json", {}, "not a dry-run request"),
        (
            b'{"rows": {"row": [], "email": [], "external_id": []}}',
            "application/json",
            {},
            "contract_id must be a whole number",
        ),
        (
            b'{"contract_id": 1, "rows": {"row": [2], "email": ["a@b.c"]}}',
            "application/json",
            {},
            "rows.external_id is missing",
        ),
        (
            b'{"contract_id": 1, "rows": '
            b'{"row": [2, 3], "email": ["a@b.c"], "external_id": [null]}}',
            "application/json",
            {},
            "the same length",
        ),
        (
            b'{"contract_id": 1, "rows": {"row": [0], "email": ["a@b.c"], "external_id": [null]}}',
            "application/json",
            {},
            "from 1 to",
        ),
        (
            b'{"contract_id": 1, "rows": {"row": [2], "email": [null], "external_id": [null]}}',
            "application/json",
            {},
            "must be an email address",
        ),
        (b"[" * 100_000, "application/json", {}, "not a dry-run request"),
        (b"row,email,external_id\n2,a@b.c,\n", "text/csv", {}, "?contract_id=N"),
        (b"Full Name,Email\nAnn,a@b.c\n", "text/csv", {"contract_id": 1}, "header line"),
        (
            b"row,email,external_id\nsecond,a@b.c,\n",
            "text/csv",
            {"contract_id": 1},
            "cannot be read",
        ),
        (b"row,email,external_id\n2,a@b.c,x,y\n", "text/csv", {"contract_id": 1}, "cannot be read"),
        (b"row,email,external_id\n2,\xff\xfe,\n", "text/csv", {"contract_id": 1}, "cannot be read"),
        (
            b"row,email,external_id\n2,,E1\n",
            "text/csv",
            {"contract_id": 1},
            "must be an email address",
        ),
        (b'row,email,external_id\n2,"a@b.c,\n', "text/csv", {"contract_id": 1}, "cannot be read"),
    ],
)
def test_a_body_the_dry_run_cannot_read_is_a_422_that_says_what_to_send(
    service: Service, content: bytes, media_type: str, params: dict[str, Any], says: str
) -> None:
    response = check(service, content, media_type, **params)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid_request"
    assert says in problem["detail"]
    assert "text/csv" in problem["detail"]  # and what to send instead


def test_a_dry_run_larger_than_the_limit_is_refused_as_it_arrives(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dry_run, "MAX_BODY", 1000)
    rows = b"row,email,external_id\n" + b"".join(
        b"%d,learner%d@example.com,\n" % (n, n) for n in range(2, 100)
    )
    response = check(service, rows, "text/csv", contract_id=service.acme.contracts["Unlimited"])

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "check the file in parts" in response.json()["detail"]


def test_a_dry_run_of_no_rows_says_nothing_is_ready(service: Service) -> None:
    acme = service.acme
    contract = acme.contracts["Ten seats"]
    empty = {"contract_id": contract, "rows": {"row": [], "email": [], "external_id": []}}
    as_json = service.http.post(
        f"/api/v1/programs/{acme.programs['Leadership']}/invitations/check",
        headers=service.as_(acme),
        json=empty,
    )
    as_csv = check(service, b"row,email,external_id\n", "text/csv", contract_id=contract)
    assert as_json.status_code == as_csv.status_code == 200
    assert as_json.json() == as_csv.json()
    assert (as_json.json()["ready"], as_json.json()["issues"]) == (0, [])


def test_stored_learners_come_back_exactly_whatever_their_text_holds(service: Service) -> None:
    # Stored values are read back as CSV the database writes: quotes, commas and an absent
    # External ID must survive it, or the learner_differs warnings would misquote them.
    acme = service.acme
    rows = batch(3)
    rows["full_name"] = ['Lee, "Ann"', "Ray\u00a0O'Brien", "Zoë Ng"]
    rows["external_id"] = ['A,"1"', None, ""]
    assert upload_and_commit(service, acme, "k", rows).status_code == 200
    lines = [
        "row,email,external_id",
        *(f"{row},{email}," for row, email in zip(rows["row"], rows["email"], strict=True)),
    ]
    response = service.http.post(
        f"/api/v1/programs/{acme.programs['Data Literacy']}/invitations/check",
        headers={**service.as_(acme), "Content-Type": "text/csv"},
        content="\n".join(lines).encode(),
        params={"contract_id": acme.contracts["Unlimited"]},
    )
    assert response.status_code == 200, response.text
    verdict = response.json()
    assert (verdict["ready"], verdict["skipped"]) == (3, 0)
    assert verdict["known"] == {
        "row": [2, 3, 4],
        "full_name": ['Lee, "Ann"', "Ray\u00a0O'Brien", "Zoë Ng"],
        "external_id": ['A,"1"', None, None],
    }
