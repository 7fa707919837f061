"""Counts in the service's messages agree with their nouns: one seat, not "1 seats"."""

from __future__ import annotations

from datetime import date

from tui.service.checks import _capacity_problem
from tui.service.db import Contract
from tui.service.seats import unavailable_reason

TODAY = date(2026, 6, 1)


def test_a_full_contract_of_one_seat_says_seat() -> None:
    def reason(seats: int) -> str | None:
        return unavailable_reason(Contract(name="C", seats=seats), [1], seats, 1, TODAY)

    assert reason(1) == "full: its 1 seat is taken"
    assert reason(30) == "full: all 30 seats are taken"


def test_too_few_seats_counts_in_the_singular_where_it_is_one() -> None:
    contract = Contract(name="Pilot", seats=5)
    one_left = _capacity_problem(contract, 1, 3)
    assert one_left is not None
    assert "has 1 seat left; the 3 ready rows need 3." in one_left.message
    assert one_left.message.endswith("or invite at most 1 learner.")
    none_left = _capacity_problem(contract, 0, 1)
    assert none_left is not None
    assert "has 0 seats left; the 1 ready row needs 1." in none_left.message
