"""schemathesis against `roster serve` (a real process on 127.0.0.1): every generated request,
valid or not, gets a non-5xx answer, and every error is problem+json. Bounded to fit CI.

Requests go with the admin's token or with none: schemathesis would otherwise fill the bearer
token with random text, and 20 such guesses from this one address get it throttled (429) on
the whole API for a minute (tests/service/test_throttle.py tests that). Random invitation
links are guesses too: after 20, the learner pages answer a documented 429. A case that
rotates, demotes or removes the test's own admin would lock it out: the admin is put back, in
the database, after each case that changes admins."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from tests.conftest import SmtpServer
from tui.service.db import hash_token

EXAMPLES_PER_OPERATION = 60
CONFORMANCE = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def restore_admin(database: Path, token: str) -> None:
    """The served organization's first admin, an owner with `token`, as `served` made it."""
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute(
            "UPDATE admins SET token_hash = ?, role = 'owner', removed_at = NULL WHERE id = 1",
            (hash_token(token),),
        )


def test_no_request_gets_a_5xx_and_every_error_is_problem_json(
    served: tuple[str, str, Path], smtp_server: SmtpServer
) -> None:
    base, token, database = served
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    cases = 0
    failures: list[str] = []
    throttled: list[str] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            pytest.fail(f"The OpenAPI document has an invalid operation: {result.err()}")
        operation = result.ok()
        requests = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=requests, authorized=st.booleans())
        def exercise(case: schemathesis.Case[Any], authorized: bool) -> None:
            nonlocal cases
            cases += 1
            if not authorized and case.headers:
                case.headers.pop("Authorization", None)  # a case-insensitive dict
            response = case.call(base_url=base, headers=auth if authorized else {}, timeout=30)
            kind = "".join(response.headers.get("content-type", []))
            where = f"{case.method} {case.formatted_path}: {response.status_code}"
            if case.method != "GET" and case.path.startswith(("/api/v1/admins", "/api/v1/me/")):
                restore_admin(database, token)
            if response.status_code == 429 and case.path.startswith("/api/"):
                throttled.append(where)
            if response.status_code >= 500:
                failures.append(f"{where} {response.text[:200]}")
            elif response.status_code >= 400 and kind != "application/problem+json":
                failures.append(f"{where} as {kind}")
            try:
                # The document says what the service answers: statuses, types and bodies.
                case.validate_response(response, checks=CONFORMANCE)
            except FailureGroup as error:
                failures.append(f"{where} does not match the OpenAPI document: {error}"[:400])

        exercise()
    print(f"schemathesis: {cases} cases, {len(failures)} failures")
    assert cases > 200
    assert failures == [], "\n".join(failures[:20])
    # A throttled admin API would answer 429 to everything and test nothing.
    assert throttled == [], "\n".join(throttled[:20])
