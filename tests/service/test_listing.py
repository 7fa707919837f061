"""Every invitation of a filter, streamed as JSON lines, reads exactly as the pages do."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.service.conftest import Service, batch, upload_and_commit
from tui.service import serializers


def test_the_streamed_listing_is_the_pages_item_for_item(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serializers, "STREAM_BATCH", 7)  # several batches, each one query
    acme = service.acme
    rows = batch(30)
    rows["full_name"][3] = 'Zoë "Z" Ö\\ 李'  # quotes, a backslash, accents and CJK
    rows["external_id"][4] = None
    upload_and_commit(service, acme, "first", rows)
    upload_and_commit(service, acme, "second", batch(5, start=30), send=False)
    upload_and_commit(service, service.globex, "theirs", batch(3))  # another organization
    headers = service.as_(acme)

    paged = service.http.get("/api/v1/invitations", headers=headers, params={"limit": 500})
    streamed = service.http.get(
        "/api/v1/invitations", headers={**headers, "Accept": "application/x-ndjson"}
    )

    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    lines: list[dict[str, Any]] = [json.loads(line) for line in streamed.text.splitlines()]
    assert lines == paged.json()["items"]
    assert len(lines) == 35
    assert lines[3]["full_name"] == 'Zoë "Z" Ö\\ 李' and lines[4]["external_id"] is None
    assert lines[0]["created_at"].endswith("Z")

    only_second = service.http.get(
        "/api/v1/invitations",
        headers={**headers, "Accept": "application/x-ndjson"},
        params={"email_status": "created"},
    )
    assert [json.loads(line)["email"] for line in only_second.text.splitlines()] == [
        f"learner{n}@example.com" for n in range(30, 35)
    ]
