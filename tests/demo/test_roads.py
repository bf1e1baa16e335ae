"""The bulk planner's shortcuts draw exactly what the plain forms they replace draw: the same
random calls in the same order, so a seed still gives the same rows."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time

from backoffice.cases.lifecycle import StepData
from backoffice.cases.schemes import Scheme, policy_for
from backoffice.demo import facts, people
from backoffice.demo.roads import Planner


def test_pick_nationality_draws_what_random_choices_draws():
    ours, theirs = random.Random(11), random.Random(11)
    for _ in range(20_000):
        assert people.pick_nationality(ours) == theirs.choices(
            people._NATIONS_LIST, cum_weights=people._NATIONS_CUM)[0]
    assert ours.random() == theirs.random()


def test_a_moment_is_the_day_at_office_hours_in_utc():
    ours, theirs = random.Random(5), random.Random(5)
    planner = Planner(ours, date(2026, 11, 25), [1])
    for day in range(date(2019, 1, 1).toordinal(), date(2027, 1, 1).toordinal(), 13):
        s = int(theirs.random() * 28_800)
        expected = datetime.combine(date.fromordinal(day),
                                    time(1 + s // 3600, s // 60 % 60, s % 60), tzinfo=UTC)
        moment = planner.at(day)
        assert (moment, moment.tzinfo, moment.fold, str(moment)) == (
            expected, UTC, 0, str(expected))


def test_a_step_with_only_its_date_gets_the_same_data_as_a_new_one():
    policy = policy_for(Scheme.QMAS, date(2025, 3, 3))
    submit = policy.transition("submit")
    rng = random.Random(1)
    data = facts.step_data(rng, submit, date(2025, 3, 3))
    assert data == StepData(on=date(2025, 3, 3))
    assert facts.step_data(rng, submit, date(2025, 3, 3)) is data  # shared: it is frozen
