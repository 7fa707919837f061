"""Inviting one learner as the service's domain function, without HTTP: its refusals say why,
and nothing of the learner is written before them."""

from __future__ import annotations

from datetime import date

import pytest

from tests.service.conftest import Service, count, invite
from tui.service.db import Invitation, Learner, Message, OutboxMessage
from tui.service.invite_one import invite_one_learner
from tui.service.refusals import InviteRefused
from tui.wire import models as wire


@pytest.mark.parametrize(
    ("email", "contract", "why", "code"),
    [
        ("not-an-email", "Unlimited", "row_error", "invalid_email"),
        ("ann@example.com", "Unlimited", "skipped", "already_invited"),
        ("bob@example.com", "Expired", "file_error", "contract_unavailable"),
    ],
)
def test_a_refused_learner_is_told_why_and_nothing_of_them_is_written(
    service: Service, email: str, contract: str, why: str, code: str
) -> None:
    acme = service.acme
    assert invite(service, acme, "ann@example.com").status_code == 201
    learner = wire.InviteLearner(
        full_name="Someone",
        email=email,
        contract_id=acme.contracts[contract],
        message="Welcome aboard",
    )
    with service.sessions() as session:
        with pytest.raises(InviteRefused) as refused:
            invite_one_learner(session, acme.programs["Leadership"], learner, date.today())
        session.commit()  # whatever the caller does next, no learner has come of it
    assert (refused.value.why, refused.value.code) == (why, code)
    assert [problem.code for problem in refused.value.errors] == [code]
    assert refused.value.message == refused.value.errors[0].message
    assert [count(service, model) for model in (Learner, Invitation, OutboxMessage)] == [1, 1, 1]
    assert count(service, Message) == 0


def test_a_full_contract_says_how_many_seats_are_left(service: Service) -> None:
    acme = service.acme
    for number in range(10):
        assert invite(service, acme, f"l{number}@example.com", "Ten seats").status_code == 201
    learner = wire.InviteLearner(
        full_name="Eleventh", email="l10@example.com", contract_id=acme.contracts["Ten seats"]
    )
    with service.sessions() as session, pytest.raises(InviteRefused) as refused:
        invite_one_learner(session, acme.programs["Leadership"], learner, date.today())
    assert (refused.value.why, refused.value.code) == ("file_error", "contract_capacity")
    assert refused.value.seats_left == 0
