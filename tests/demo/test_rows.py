"""The bulk walk's plain stand-ins for the models, and its COPY text fields.

The comparison test (``test_bulk_matches_services``) proves the rows equal the services'; these
pin what makes the stand-ins safe to hand to the rules: they carry every column of their model
and the model's own properties, so a property added to ``Case`` is read by the walk as it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from backoffice.cases import stay
from backoffice.cases.models import (
    Applicant,
    Case,
    CaseEvent,
    Deadline,
    DeadlineKind,
    DeadlineState,
    Dependant,
    JobOffer,
)
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import HK_TZ
from backoffice.demo import rows, sinks

STAND_INS = [(Case, rows.WalkingCase), (Applicant, rows.WalkingApplicant),
             (Dependant, rows.WalkingDependant), (Deadline, rows.WalkingDeadline),
             (JobOffer, rows.WalkingJobOffer)]


@pytest.mark.parametrize(("model", "stand_in"), STAND_INS)
def test_a_stand_in_has_every_column_unset_like_a_new_model_object(model, stand_in):
    plain = object.__new__(stand_in)  # no __init__: Case's would need a scheme
    for attr in model.__mapper__.column_attrs:
        assert getattr(plain, attr.key) is None
        assert getattr(model(), attr.key) is None


@pytest.mark.parametrize(("model", "stand_in"), STAND_INS)
def test_a_stand_in_reads_the_models_own_properties(model, stand_in):
    properties = {name: value for klass in model.__mro__ for name, value in vars(klass).items()
                  if isinstance(value, property)}
    assert properties or model in (Deadline, JobOffer)
    for name, prop in properties.items():
        if (model, name) == (Case, "policy"):
            continue  # looked up once per case, below
        assert getattr(stand_in, name) is prop, name


@pytest.mark.parametrize(("scheme", "submitted_on"), [
    (Scheme.QMAS, date(2010, 1, 4)), (Scheme.GEP_PRO, date(2024, 6, 30)),
    (Scheme.GEP_ENT, date(2025, 12, 31)), (Scheme.ASSG, date(2026, 2, 28))])
def test_the_walking_case_has_the_policy_case_policy_gives(scheme, submitted_on):
    walking = rows.WalkingCase(scheme=scheme, submitted_on=submitted_on)
    assert walking.policy is Case(scheme=scheme, submitted_on=submitted_on).policy


def _case_in_stay(make):
    case = make(id=7, scheme=Scheme.QMAS, status=CaseStatus.IN_STAY, submitted_on=date(2024, 1, 2),
                arrived_on=date(2024, 5, 1), stay_ends_on=date(2025, 5, 1),
                extension_window_days=90, job_offer_needed_to_extend=True,
                extensions_granted=0)
    if make is rows.WalkingCase:
        case.deadlines, case.job_offers = [], []
    return case


@pytest.mark.parametrize(("make_case", "keyword", "made"), [
    (Case, {}, Deadline), (rows.WalkingCase, {"make_deadline": rows.WalkingDeadline},
                           rows.WalkingDeadline)])
def test_open_missing_deadlines_makes_the_class_it_is_given(make_case, keyword, made):
    case = _case_in_stay(make_case)
    stay.open_missing_deadlines(case, stay.cancel_stale_deadlines(case, datetime.now(UTC)),
                                **keyword)
    assert {type(d) for d in case.deadlines} == {made}
    assert sorted((d.kind, d.due_on, d.state, d.outstanding, d.case_id)
                  for d in case.deadlines) == sorted([
        (DeadlineKind.STAY_END, date(2025, 5, 1), DeadlineState.OPEN, True, 7),
        (DeadlineKind.JOB_OFFER, date(2025, 5, 1), DeadlineState.OPEN, True, 7),
        (DeadlineKind.EXTENSION_WINDOW, date(2025, 1, 31), DeadlineState.OPEN, True, 7)])


@pytest.mark.parametrize(("make_case", "keyword", "made"), [
    (Case, {}, JobOffer), (rows.WalkingCase, {"make_job_offer": rows.WalkingJobOffer},
                           rows.WalkingJobOffer)])
def test_add_job_offer_makes_the_class_it_is_given(make_case, keyword, made):
    case = _case_in_stay(make_case)
    now = datetime(2024, 6, 1, 3, tzinfo=UTC)
    offer = stay.JobOfferData(" Acme ", " Engineer ", Decimal("50000.00"), date(2024, 7, 1))
    job = stay.add_job_offer(case, offer, 3, now, **keyword)
    assert type(job) is made and case.job_offers == [job] and case.has_job_offer
    assert (job.case_id, job.employer, job.post, job.recorded_by_id, job.recorded_at) == (
        7, "Acme", "Engineer", 3, now)


@pytest.mark.parametrize(("value", "field"), [
    (None, "\\N"), (True, "t"), (False, "f"), (0, "0"), (1, "1"), (12, "12"),
    (Decimal("1.50"), "1.50"), (date(2024, 2, 29), "2024-02-29"),
    (datetime(2024, 2, 29, 1, 2, 3, tzinfo=UTC), "2024-02-29 01:02:03+00:00"),
    (CaseStatus.IN_STAY, "in_stay"), ("plain", "plain"), ("", "")])
def test_copy_text_fields(value, field):
    assert rows.text(value) == field


def test_a_rows_texts_are_its_fields_texts():
    values = (None, True, False, 0, 1, Decimal("1.50"), date(2024, 2, 29),
              datetime(2024, 2, 29, 1, 2, 3, tzinfo=UTC),
              datetime(2024, 2, 29, 9, 2, 3, tzinfo=HK_TZ), datetime(2024, 2, 29),
              CaseStatus.IN_STAY, Scheme.QMAS, "plain", "", {"key": "x"}, [1, "a"])
    assert rows.texts(values) == [rows.text(value) for value in values]


def test_an_instant_is_written_in_its_own_zone_whatever_was_written_before():
    """The cache of dates and instants must not answer for an equal instant in another
    zone (they compare equal), nor for a date with its datetime."""
    utc = datetime(2024, 2, 29, 1, 2, 3, tzinfo=UTC)
    assert rows.text(utc) == "2024-02-29 01:02:03+00:00"
    assert rows.text(utc.astimezone(HK_TZ)) == "2024-02-29 09:02:03+08:00"
    assert rows.text(utc.replace(microsecond=5)) == "2024-02-29 01:02:03.000005+00:00"
    assert rows.text(date(2024, 2, 29)) == "2024-02-29"
    assert rows.text(datetime(2024, 2, 29)) == "2024-02-29 00:00:00"


def test_event_columns_are_the_ones_the_walk_fills():
    # The walk's event tuples are (at, kind, transition, from, to, reason, detail,
    # detail_data, occurred_on) after the case id; a column added to case_events must be
    # added there too.
    assert rows.EVENT_COLUMNS == ("case_id", "at", "actor_id", "kind", "transition",
                                  "from_status", "to_status", "reason", "detail",
                                  "detail_data", "occurred_on")
    assert {c.name for c in CaseEvent.__table__.columns} - {"id"} == set(rows.EVENT_COLUMNS)


def test_an_events_detail_data_is_json_text_that_copy_and_the_core_sink_read_back():
    """COPY's text format takes a backslash as an escape: JSON's own (a quote or a backslash
    in a name) are doubled, and the Core sink undoes exactly that."""
    data = {"key": "job_offer", "post": 'Engineer "lead"', "employer": "A\\B 有限公司",
            "start_date": "2026-06-01"}
    field = rows.text(data)
    assert "\t" not in field and "\n" not in field
    assert "有限公司" in field  # UTF-8, not \u escapes
    assert sinks._from_text(rows.CaseEvent.__table__.c.detail_data)(field) == data
