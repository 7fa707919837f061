"""The rows an import's client did not send (with errors, left out by the admin) are counted
with the import, take no seat, and come back in its results with their own outcome."""

from __future__ import annotations

from tests.service.conftest import Service, batch, start


def test_rows_not_sent_are_counted_take_no_seat_and_keep_their_outcome(service: Service) -> None:
    acme, headers = service.acme, service.as_(service.acme)
    import_id = start(service, acme, "k", contract="Ten seats").json()["id"]
    rows = batch(10)  # rows 2..11: every seat of the contract
    assert service.http.put(
        f"/api/v1/imports/{import_id}/chunks/0", headers=headers, json=rows
    ).is_success
    committed = service.http.post(
        f"/api/v1/imports/{import_id}/commit",
        headers=headers,
        # Rows 12 and 13 had errors, rows 14 and 15 were left out; 3 and 4 had warnings.
        json={"rows": 10, "errors": 2, "left_out": 2, "warned": [3, 4]},
    )
    assert committed.status_code == 200, committed.text
    body = committed.json()
    counts = ("invited", "warnings", "errors", "left_out")
    assert tuple(body[key] for key in counts) == (10, 2, 2, 2)
    listed = service.http.get("/api/v1/imports", headers=headers).json()["items"][0]
    assert tuple(listed[key] for key in counts) == (10, 2, 2, 2)

    kept = {
        "row": [12, 13, 14, 15],
        "full_name": ["", "Dup", "Lou", "Sam"],
        "email": ["a@example.com", "learner0@example.com", "lou@example.com", "sam@example.com"],
        "external_id": ["", "", "", ""],
        "error": ["Full Name is empty", "Same learner as row 2", *["Left out by the admin."] * 2],
        "outcome": ["error", "error", "left_out", "left_out"],
    }
    put = service.http.put(f"/api/v1/imports/{import_id}/left-out", headers=headers, json=kept)
    assert put.status_code == 200, put.text
    results = service.http.get(f"/api/v1/imports/{import_id}/results", headers=headers).json()
    outcomes = dict(zip(results["row"], results["outcome"], strict=True))
    assert [outcomes[row] for row in (2, 12, 13, 14, 15)] == [
        "invited",
        "error",
        "error",
        "left_out",
        "left_out",
    ]
    saved = service.http.get(f"/api/v1/imports/{import_id}/left-out", headers=headers).json()
    assert saved["outcome"] == kept["outcome"]
