"""Scheme policies as data: lifecycles, eligibility at submission, dated policy versions.

The expected lifecycle below is written out by hand from DESIGN §2, independently of the
module's own table, so a change to either shows up here.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from backoffice.cases.schemes import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    POLICIES,
    SEED_EFFECTIVE_FROM,
    CaseStatus,
    GovernmentProgramme,
    NoPolicyInForce,
    PolicyError,
    Scheme,
    SchemePolicy,
    SubmissionFacts,
    Transition,
    UnknownTransition,
    describe_ground,
    policy_for,
    register,
)

S = CaseStatus
TODAY = date(2026, 3, 2)

# --- expected lifecycle -------------------------------------------------------------------------

# (transition name, from, to) shared by every scheme.
COMMON_EDGES = [
    ("submit", S.DRAFT, S.SUBMITTED),
    ("start_review", S.SUBMITTED, S.UNDER_REVIEW),
    ("approve", S.UNDER_REVIEW, S.APPROVED),
    ("issue_visa", S.APPROVED, S.VISA_ISSUED),
    ("record_arrival", S.VISA_ISSUED, S.IN_STAY),
    ("request_extension", S.IN_STAY, S.EXTENSION_REQUESTED),
    ("request_extension", S.EXTENDED, S.EXTENSION_REQUESTED),
    ("grant_extension", S.EXTENSION_REQUESTED, S.EXTENDED),
    ("refuse_extension", S.EXTENSION_REQUESTED, S.IN_STAY),
    ("refuse", S.SUBMITTED, S.REFUSED),
    ("refuse", S.UNDER_REVIEW, S.REFUSED),
    # A draft is refused only on a permanent ground (the step's guard), received and refused
    # in one step; any other draft is completed and submitted, or withdrawn.
    ("refuse_ineligible", S.DRAFT, S.REFUSED),
    ("withdraw", S.DRAFT, S.WITHDRAWN),
    ("withdraw", S.SUBMITTED, S.WITHDRAWN),
    ("withdraw", S.UNDER_REVIEW, S.WITHDRAWN),
    ("withdraw", S.APPROVED, S.WITHDRAWN),
    ("withdraw", S.VISA_ISSUED, S.WITHDRAWN),
    ("lapse", S.APPROVED, S.LAPSED),
    ("lapse", S.VISA_ISSUED, S.LAPSED),
    ("lapse", S.IN_STAY, S.LAPSED),
    ("lapse", S.EXTENSION_REQUESTED, S.LAPSED),
    ("lapse", S.EXTENDED, S.LAPSED),
    ("close", S.IN_STAY, S.CLOSED),
    ("close", S.EXTENDED, S.CLOSED),
]
# QMAS alone waits for a quota place between review and approval.
QUOTA_EDGES = [
    ("hold_for_quota", S.UNDER_REVIEW, S.AWAITING_QUOTA),
    ("approve", S.AWAITING_QUOTA, S.APPROVED),
    ("refuse", S.AWAITING_QUOTA, S.REFUSED),
    ("withdraw", S.AWAITING_QUOTA, S.WITHDRAWN),
]
EXPECTED_EDGES = {
    Scheme.QMAS: COMMON_EDGES + QUOTA_EDGES,
    Scheme.GEP_ENT: COMMON_EDGES,
    Scheme.GEP_PRO: COMMON_EDGES,
    Scheme.ASSG: COMMON_EDGES,
}
NEEDS_REASON = {"refuse", "refuse_ineligible", "withdraw", "close", "refuse_extension"}


def seed(scheme: Scheme) -> SchemePolicy:
    return policy_for(scheme, TODAY)


# Questions only these tests ask of a lifecycle table (the app always moves a case by a named
# step), answered from the table the way a status filter or chart would.
class TransitionNotAllowed(LookupError):
    pass


def allows(policy: SchemePolicy, src, dst) -> bool:
    return any(t.target == dst for t in policy.transitions_from(src))


def transition_to(policy: SchemePolicy, src, dst) -> Transition:
    for t in policy.transitions_from(src):
        if t.target == dst:
            return t
    raise TransitionNotAllowed(f"A {policy.scheme.short_label} case cannot go from {src} to "
                               f"{dst}.")


def statuses(policy: SchemePolicy) -> frozenset[CaseStatus]:
    found: set[CaseStatus] = set()
    for t in policy.transitions:
        found |= t.sources
        found.add(t.target)
    return frozenset(found)


ALLOWED = [
    pytest.param(scheme, name, src, dst, id=f"{scheme}-{name}-{src}-{dst}")
    for scheme, edges in EXPECTED_EDGES.items()
    for name, src, dst in edges
]


@pytest.mark.parametrize(("scheme", "name", "src", "dst"), ALLOWED)
def test_every_allowed_transition(scheme, name, src, dst):
    policy = seed(scheme)
    step = policy.transition(name)
    assert step.target is dst
    assert step.applies_from(src)
    assert allows(policy, src, dst)
    assert transition_to(policy, src, dst) == step
    assert step in policy.transitions_from(src)
    assert step.needs_reason is (name in NEEDS_REASON)
    # Database values work as well as enum members.
    assert allows(policy, str(src), str(dst))


@pytest.mark.parametrize("scheme", list(Scheme))
def test_nothing_else_is_allowed(scheme):
    """Every pair of statuses not in the table is refused: the table is the whole lifecycle."""
    policy = seed(scheme)
    expected = {(src, dst) for _, src, dst in EXPECTED_EDGES[scheme]}
    actual = {(a, b) for a, b in itertools.product(CaseStatus, repeat=2) if allows(policy, a, b)}
    assert actual == expected


@pytest.mark.parametrize(
    ("scheme", "src", "dst"),
    [
        (Scheme.QMAS, S.DRAFT, S.APPROVED),  # no skipping review
        (Scheme.QMAS, S.SUBMITTED, S.APPROVED),
        (Scheme.QMAS, S.SUBMITTED, S.AWAITING_QUOTA),  # quota wait only after review
        (Scheme.QMAS, S.IN_STAY, S.WITHDRAWN),  # after arrival: close or lapse, not withdraw
        (Scheme.QMAS, S.APPROVED, S.REFUSED),  # approval is revoked by withdraw/lapse only
        (Scheme.QMAS, S.AWAITING_QUOTA, S.UNDER_REVIEW),
        (Scheme.QMAS, S.REFUSED, S.SUBMITTED),  # closed statuses are final
        (Scheme.QMAS, S.LAPSED, S.IN_STAY),
        (Scheme.QMAS, S.EXTENDED, S.EXTENDED),
        (Scheme.GEP_ENT, S.UNDER_REVIEW, S.AWAITING_QUOTA),  # no quota outside QMAS
        (Scheme.GEP_ENT, S.AWAITING_QUOTA, S.APPROVED),
        (Scheme.GEP_ENT, S.VISA_ISSUED, S.CLOSED),  # close only once the stay has begun
        (Scheme.GEP_ENT, S.WITHDRAWN, S.DRAFT),
        (Scheme.GEP_PRO, S.APPROVED, S.IN_STAY),  # arrival needs the visa first
        (Scheme.GEP_PRO, S.EXTENSION_REQUESTED, S.CLOSED),
        (Scheme.GEP_PRO, S.CLOSED, S.IN_STAY),
        (Scheme.ASSG, S.UNDER_REVIEW, S.AWAITING_QUOTA),
        (Scheme.ASSG, S.IN_STAY, S.EXTENDED),  # an extension is requested before it is granted
        (Scheme.ASSG, S.DRAFT, S.LAPSED),
    ],
)
def test_sample_of_forbidden_transitions(scheme, src, dst):
    policy = seed(scheme)
    assert not allows(policy, src, dst)
    with pytest.raises(TransitionNotAllowed, match=r"cannot go from .+ to "):
        transition_to(policy, src, dst)


@pytest.mark.parametrize(
    ("scheme", "status"), list(itertools.product(Scheme, sorted(CLOSED_STATUSES)))
)
def test_closed_statuses_are_final(scheme, status):
    assert seed(scheme).transitions_from(status) == []


def test_transitions_from_lists_steps_in_table_order():
    names = [t.name for t in seed(Scheme.QMAS).transitions_from(S.UNDER_REVIEW)]
    assert names == ["hold_for_quota", "approve", "refuse", "withdraw"]
    names = [t.name for t in seed(Scheme.GEP_PRO).transitions_from(S.UNDER_REVIEW)]
    assert names == ["approve", "refuse", "withdraw"]


@pytest.mark.parametrize(
    ("scheme", "name"),
    [(Scheme.GEP_ENT, "hold_for_quota"), (Scheme.QMAS, "teleport"), (Scheme.ASSG, "")],
)
def test_unknown_transition_is_a_domain_error_in_words(scheme, name):
    with pytest.raises(UnknownTransition, match="has no step called") as excinfo:
        seed(scheme).transition(name)
    assert not isinstance(excinfo.value, KeyError)
    assert "submit" in str(excinfo.value)  # lists what does exist


def test_statuses_of_each_lifecycle():
    assert statuses(seed(Scheme.QMAS)) == frozenset(CaseStatus)
    for scheme in (Scheme.GEP_ENT, Scheme.GEP_PRO, Scheme.ASSG):
        assert statuses(seed(scheme)) == frozenset(CaseStatus) - {S.AWAITING_QUOTA}


# --- vocabulary ---------------------------------------------------------------------------------


def test_open_and_closed_statuses_partition_all_statuses():
    assert {S.REFUSED, S.WITHDRAWN, S.LAPSED, S.CLOSED} == CLOSED_STATUSES
    assert frozenset(CaseStatus) == OPEN_STATUSES | CLOSED_STATUSES
    assert not OPEN_STATUSES & CLOSED_STATUSES
    assert S.IN_STAY.is_open
    assert not S.LAPSED.is_open


@pytest.mark.parametrize(
    ("scheme", "label"),
    [
        (Scheme.QMAS, "Quality Migrant Admission Scheme"),
        (Scheme.GEP_ENT, "General Employment Policy \u2013 Entrepreneur Scheme"),
        (Scheme.GEP_PRO, "General Employment Policy \u2013 Professionals"),
        (
            Scheme.ASSG,
            "Admission Scheme for the Second Generation of Chinese Hong Kong Permanent Residents",
        ),
    ],
)
def test_scheme_labels(scheme, label):
    assert scheme.label == label
    assert scheme.short_label
    assert Scheme(str(scheme)) is scheme


@pytest.mark.parametrize("member", [*CaseStatus, *GovernmentProgramme])
def test_every_status_and_programme_has_a_label(member):
    assert member.label
    assert member.label[0].isupper()


def test_status_values_are_the_stored_strings():
    assert [str(s) for s in CaseStatus] == [
        "draft", "submitted", "under_review", "awaiting_quota", "approved", "visa_issued",
        "in_stay", "extension_requested", "extended", "refused", "withdrawn", "lapsed", "closed",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("scheme", "has_quota", "initial", "job_offer_to_extend"),
    [
        (Scheme.QMAS, True, 12, True),
        (Scheme.GEP_ENT, False, 24, False),
        (Scheme.GEP_PRO, False, 24, False),
        (Scheme.ASSG, False, 24, False),
    ],
)
def test_seed_stay_terms(scheme, has_quota, initial, job_offer_to_extend):
    policy = seed(scheme)
    assert policy.has_quota is has_quota
    assert policy.initial_stay_months == initial
    assert policy.job_offer_needed_to_extend is job_offer_to_extend
    assert policy.extension_months == 24
    assert policy.extension_window_days == 28
    assert policy.effective_from == SEED_EFFECTIVE_FROM


# --- eligibility: helpers -----------------------------------------------------------------------

FULL_JOB_OFFER = {
    "job_employer": "Harbour Analytics Ltd",
    "job_post": "Senior Data Engineer",
    "job_salary": Decimal("68000"),
    "job_relevance": "MSc in Computer Science; 8 years building data platforms.",
    "job_local_unavailability": "Advertised locally for 3 months without a suitable applicant.",
}


def eligible_facts(scheme: Scheme, **changes) -> SubmissionFacts:
    """Facts that pass every check of ``scheme``'s seed policy, changed by ``changes``."""
    base = SubmissionFacts(
        date_of_birth=date(1990, 6, 15),
        nationality="GB",
        business_plan="A fintech start-up for cross-border payments.",
        programme=None,
        has_hk_parent=True,
        emigrated_overseas=True,
        **FULL_JOB_OFFER,
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize("scheme", list(Scheme))
def test_eligible_facts_pass(scheme):
    assert seed(scheme).check_submission(eligible_facts(scheme), TODAY) == []


# --- eligibility: ages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "dob", "on", "reasons"),
    [
        # QMAS: 18 or over.
        pytest.param(
            Scheme.QMAS, date(2008, 3, 3), date(2026, 3, 2),
            ["The applicant is 17 on 2 Mar 2026; QMAS requires 18 or over."],
            id="qmas-day-before-18th",
        ),
        pytest.param(Scheme.QMAS, date(2008, 3, 2), date(2026, 3, 2), [], id="qmas-18th"),
        pytest.param(Scheme.QMAS, date(1940, 1, 1), date(2026, 3, 2), [], id="qmas-no-max"),
        pytest.param(
            Scheme.QMAS, date(2008, 2, 29), date(2026, 2, 28),
            ["The applicant is 17 on 28 Feb 2026; QMAS requires 18 or over."],
            id="qmas-29feb-not-yet-on-28feb",
        ),
        pytest.param(
            Scheme.QMAS, date(2008, 2, 29), date(2026, 3, 1), [], id="qmas-29feb-18-on-1mar"
        ),
        # ASSG: 18 to 40 inclusive on the submission date.
        pytest.param(
            Scheme.ASSG, date(2008, 3, 3), date(2026, 3, 2),
            [
                "ASSG applicants must be 18 to 40 on the submission date; "
                "the applicant is 17 and turns 18 on 3 Mar 2026."
            ],
            id="assg-day-before-18th",
        ),
        pytest.param(Scheme.ASSG, date(2008, 3, 2), date(2026, 3, 2), [], id="assg-18th"),
        pytest.param(Scheme.ASSG, date(1986, 1, 1), date(2026, 1, 1), [], id="assg-40th"),
        pytest.param(
            Scheme.ASSG, date(1985, 1, 1), date(2025, 12, 31), [], id="assg-day-before-41st"
        ),
        pytest.param(
            Scheme.ASSG, date(1985, 1, 1), date(2026, 1, 1),
            [
                "ASSG applicants must be 18 to 40 on the submission date; "
                "the applicant turned 41 on 1 Jan 2026."
            ],
            id="assg-41st",
        ),
        pytest.param(
            Scheme.ASSG, date(1984, 2, 29), date(2025, 2, 28), [], id="assg-29feb-still-40"
        ),
        pytest.param(
            Scheme.ASSG, date(1984, 2, 29), date(2025, 3, 1),
            [
                "ASSG applicants must be 18 to 40 on the submission date; "
                "the applicant turned 41 on 1 Mar 2025."
            ],
            id="assg-29feb-41-on-1mar",
        ),
        # The GEP schemes set no age limit in the seed.
        pytest.param(Scheme.GEP_PRO, date(2009, 1, 1), date(2026, 3, 2), [], id="gep-pro-17"),
        pytest.param(Scheme.GEP_ENT, date(1950, 1, 1), date(2026, 3, 2), [], id="gep-ent-76"),
    ],
)  # fmt: skip
def test_age_limits(scheme, dob, on, reasons):
    facts = eligible_facts(scheme, date_of_birth=dob)
    assert seed(scheme).check_submission(facts, on) == reasons


@pytest.mark.parametrize(
    ("scheme", "fragment"),
    [(Scheme.QMAS, "requires 18 or over"), (Scheme.ASSG, "requires 18 to 40")],
)
def test_missing_date_of_birth_is_a_reason_where_age_matters(scheme, fragment):
    reasons = seed(scheme).check_submission(eligible_facts(scheme, date_of_birth=None), TODAY)
    assert reasons == [
        f"The applicant's date of birth is missing; {scheme.short_label} {fragment}."
    ]


def test_missing_date_of_birth_is_fine_without_age_rules():
    facts = eligible_facts(Scheme.GEP_PRO, date_of_birth=None)
    assert seed(Scheme.GEP_PRO).check_submission(facts, TODAY) == []


def test_date_of_birth_after_submission_is_a_reason():
    facts = eligible_facts(Scheme.QMAS, date_of_birth=date(2026, 3, 3))
    assert seed(Scheme.QMAS).check_submission(facts, TODAY) == [
        "The date of birth 3 Mar 2026 is after the submission date 2 Mar 2026."
    ]


# --- eligibility: which grounds are permanent -----------------------------------------------------

# Permanent: judged on the fixed submission date and who the applicant is, so no later day or
# added document changes it. Remediable: something to add or correct.
@pytest.mark.parametrize(("scheme", "changes", "permanent"), [
    pytest.param(Scheme.GEP_ENT, {"nationality": "VN"}, [True], id="excluded-nationality"),
    pytest.param(Scheme.ASSG, {"date_of_birth": date(1985, 3, 2)}, [True], id="assg-41"),
    pytest.param(Scheme.ASSG, {"date_of_birth": date(2008, 3, 3)}, [True], id="assg-17"),
    pytest.param(Scheme.QMAS, {"date_of_birth": date(2008, 3, 3)}, [True], id="qmas-17"),
    pytest.param(Scheme.GEP_ENT, {"nationality": None}, [False], id="nationality-missing"),
    pytest.param(Scheme.QMAS, {"date_of_birth": None}, [False], id="birth-date-missing"),
    pytest.param(Scheme.QMAS, {"date_of_birth": date(2026, 3, 3)}, [False],
                 id="born-after-submission-a-typo"),
    pytest.param(Scheme.GEP_ENT, {"business_plan": None}, [False], id="no-business-plan"),
    pytest.param(Scheme.GEP_PRO, {"job_post": None}, [False], id="job-offer-incomplete"),
    pytest.param(Scheme.GEP_PRO, {"job_salary": 0}, [False], id="salary-zero"),
    pytest.param(Scheme.ASSG, {"has_hk_parent": False}, [False], id="hk-parent-unticked"),
    pytest.param(Scheme.GEP_ENT, {"nationality": "LA", "business_plan": " "}, [True, False],
                 id="both-kinds"),
])  # fmt: skip
def test_which_grounds_are_permanent(scheme, changes, permanent):
    policy = seed(scheme)
    facts = eligible_facts(scheme, **changes)
    grounds = policy.submission_grounds(facts, TODAY)
    assert [ground.permanent for ground in grounds] == permanent
    assert [str(g.message) for g in grounds] == [str(m) for m in
                                                  policy.check_submission(facts, TODAY)]
    for ground in grounds:
        if ground.permanent:
            # Kept as plain JSON on the refusal's event, and worded from it the same way.
            assert json.loads(json.dumps(ground.data)) == ground.data
            assert str(describe_ground(ground.data)) == str(ground.message)
            assert " yet" not in str(ground.message)
        else:
            assert ground.data is None


# --- eligibility: nationality -------------------------------------------------------------------

ENT = "General Employment Policy \u2013 Entrepreneur Scheme"


@pytest.mark.parametrize(
    ("scheme", "nationality", "reasons"),
    [
        (
            Scheme.GEP_ENT, "LA",
            [f"Nationals of Laos (LA) cannot apply under the {ENT} (policy of 28 Jun 2006)."],
        ),
        (
            Scheme.GEP_ENT, "VN",
            [f"Nationals of Vietnam (VN) cannot apply under the {ENT} (policy of 28 Jun 2006)."],
        ),
        (
            Scheme.GEP_ENT, " vn ",
            [f"Nationals of Vietnam (VN) cannot apply under the {ENT} (policy of 28 Jun 2006)."],
        ),
        (Scheme.GEP_ENT, "TH", []),
        (Scheme.GEP_ENT, "CN", []),
        # The exclusion is the Entrepreneur arrangement's alone.
        (Scheme.GEP_PRO, "LA", []),
        (Scheme.GEP_PRO, "VN", []),
        (Scheme.QMAS, "VN", []),
        (Scheme.QMAS, "LA", []),
        (Scheme.ASSG, "LA", []),
        (Scheme.ASSG, "VN", []),
    ],
)  # fmt: skip
def test_nationality_rules(scheme, nationality, reasons):
    facts = eligible_facts(scheme, nationality=nationality)
    assert seed(scheme).check_submission(facts, TODAY) == reasons


@pytest.mark.parametrize("nationality", [None, "", "  "])
def test_missing_nationality_blocks_where_nationality_decides(nationality):
    facts = eligible_facts(Scheme.GEP_ENT, nationality=nationality)
    assert seed(Scheme.GEP_ENT).check_submission(facts, TODAY) == [
        f"The applicant's nationality is missing; it decides whether they may apply under the "
        f"{ENT}."
    ]


# --- eligibility: business plan and programmes --------------------------------------------------


@pytest.mark.parametrize("plan", [None, "", "   \n"])
def test_gep_ent_requires_a_business_plan(plan):
    facts = eligible_facts(Scheme.GEP_ENT, business_plan=plan)
    assert seed(Scheme.GEP_ENT).check_submission(facts, TODAY) == [
        f"A business plan is required for the {ENT}."
    ]


@pytest.mark.parametrize("scheme", [Scheme.QMAS, Scheme.GEP_PRO, Scheme.ASSG])
def test_other_schemes_need_no_business_plan(scheme):
    facts = eligible_facts(scheme, business_plan=None)
    assert seed(scheme).check_submission(facts, TODAY) == []


def test_several_reasons_are_all_reported():
    facts = eligible_facts(Scheme.GEP_ENT, nationality="LA", business_plan=None)
    reasons = seed(Scheme.GEP_ENT).check_submission(facts, TODAY)
    assert len(reasons) == 2
    assert reasons[0].startswith("Nationals of Laos (LA)")
    assert reasons[1].startswith("A business plan is required")


@pytest.mark.parametrize(
    ("scheme", "programme", "favourable"),
    [
        *[(Scheme.GEP_ENT, p, True) for p in GovernmentProgramme],
        (Scheme.GEP_ENT, None, False),
        # A programme only matters to the Entrepreneur arrangement.
        (Scheme.GEP_PRO, GovernmentProgramme.CYBERPORT_INCUBATION, False),
        (Scheme.QMAS, GovernmentProgramme.HKSTP_INCU_BIO, False),
    ],
)
def test_favourable_consideration(scheme, programme, favourable):
    facts = eligible_facts(scheme, programme=programme)
    assert seed(scheme).favourable_consideration(facts) is favourable
    # Favourable or not, a programme is never a reason to refuse.
    assert seed(scheme).check_submission(facts, TODAY) == []


# --- eligibility: job offer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blanked", "named"),
    [
        ({"job_employer": None}, "employer"),
        ({"job_post": "  "}, "post"),
        ({"job_salary": None}, "salary"),
        ({"job_relevance": ""}, "relevance to qualifications or experience"),
        ({"job_local_unavailability": None}, "why it cannot readily be filled locally"),
    ],
)
def test_gep_pro_names_the_missing_job_offer_field(blanked, named):
    facts = eligible_facts(Scheme.GEP_PRO, **blanked)
    assert seed(Scheme.GEP_PRO).check_submission(facts, TODAY) == [
        f"GEP (Professionals) requires a confirmed job offer; missing: {named}."
    ]


def test_gep_pro_names_every_missing_job_offer_field():
    facts = eligible_facts(Scheme.GEP_PRO, **dict.fromkeys(FULL_JOB_OFFER))
    assert seed(Scheme.GEP_PRO).check_submission(facts, TODAY) == [
        "GEP (Professionals) requires a confirmed job offer; missing: employer, post, salary, "
        "relevance to qualifications or experience, why it cannot readily be filled locally."
    ]


@pytest.mark.parametrize("salary", [0, Decimal("-1"), Decimal("0.00")])
def test_gep_pro_salary_must_be_positive(salary):
    facts = eligible_facts(Scheme.GEP_PRO, job_salary=salary)
    assert seed(Scheme.GEP_PRO).check_submission(facts, TODAY) == [
        "The offered salary must be more than zero."
    ]


@pytest.mark.parametrize("scheme", [Scheme.QMAS, Scheme.GEP_ENT, Scheme.ASSG])
def test_other_schemes_need_no_job_offer_at_submission(scheme):
    facts = eligible_facts(scheme, **dict.fromkeys(FULL_JOB_OFFER))
    assert seed(scheme).check_submission(facts, TODAY) == []


# --- eligibility: ASSG family background --------------------------------------------------------


@pytest.mark.parametrize(
    ("parent", "emigrated", "reasons"),
    [
        (True, True, []),
        (False, True, ["ASSG requires a parent who is a Chinese Hong Kong permanent resident."]),
        (True, False, ["ASSG requires the applicant to have emigrated overseas."]),
        (
            False,
            False,
            [
                "ASSG requires a parent who is a Chinese Hong Kong permanent resident.",
                "ASSG requires the applicant to have emigrated overseas.",
            ],
        ),
    ],
)
def test_assg_needs_hk_parent_and_emigration(parent, emigrated, reasons):
    facts = eligible_facts(Scheme.ASSG, has_hk_parent=parent, emigrated_overseas=emigrated)
    assert seed(Scheme.ASSG).check_submission(facts, TODAY) == reasons


@pytest.mark.parametrize("scheme", [Scheme.QMAS, Scheme.GEP_ENT, Scheme.GEP_PRO])
def test_other_schemes_ignore_family_background(scheme):
    facts = eligible_facts(scheme, has_hk_parent=False, emigrated_overseas=False)
    assert seed(scheme).check_submission(facts, TODAY) == []


# --- policy versions ----------------------------------------------------------------------------


@pytest.fixture
def registry():
    """A copy of the seed registry that a test may register into without touching POLICIES."""
    return dict(POLICIES)


@pytest.mark.parametrize("scheme", list(Scheme))
def test_seed_policies_cover_every_scheme(scheme):
    policy = policy_for(scheme, TODAY)
    assert policy.scheme is scheme
    assert policy_for(str(scheme), TODAY) is policy  # a stored code works too
    assert policy_for(scheme, SEED_EFFECTIVE_FROM) is policy


def test_no_policy_before_the_seed_baseline():
    with pytest.raises(NoPolicyInForce, match="No QMAS policy was in force on 27 Jun 2006"):
        policy_for(Scheme.QMAS, date(2006, 6, 27))


def test_unknown_scheme_code():
    with pytest.raises(PolicyError, match="no scheme with the code “TTPS”"):
        policy_for("TTPS", TODAY)


def test_policy_for_refuses_a_datetime():
    with pytest.raises(TypeError, match="Hong Kong date"):
        policy_for(Scheme.QMAS, datetime(2026, 3, 2, tzinfo=UTC))


def test_a_later_version_changes_later_submissions_only(registry):
    """From 25 Oct 2023 nationals of Laos and Vietnam may apply (DESIGN §2)."""
    old = policy_for(Scheme.GEP_ENT, TODAY, registry)
    register(
        dataclasses.replace(
            old,
            version="2023-10-25",
            effective_from=date(2023, 10, 25),
            excluded_nationalities=frozenset(),
        ),
        registry,
    )
    facts = eligible_facts(Scheme.GEP_ENT, nationality="LA")

    before = policy_for(Scheme.GEP_ENT, date(2023, 10, 24), registry)
    assert before.version == "2006-06-28"
    assert before.check_submission(facts, date(2023, 10, 24)) == [
        f"Nationals of Laos (LA) cannot apply under the {ENT} (policy of 28 Jun 2006)."
    ]
    on_the_day = policy_for(Scheme.GEP_ENT, date(2023, 10, 25), registry)
    assert on_the_day.version == "2023-10-25"
    assert on_the_day.check_submission(facts, date(2023, 10, 25)) == []
    # The shared registry is untouched.
    assert policy_for(Scheme.GEP_ENT, TODAY).excluded_nationalities == {"LA", "VN"}


def test_a_later_qmas_version_lengthens_the_stay(registry):
    """From 28 Dec 2022 the QMAS stay pattern became 3+3+2 years (DESIGN §2)."""
    old = policy_for(Scheme.QMAS, TODAY, registry)
    register(
        dataclasses.replace(
            old, version="2022-12-28", effective_from=date(2022, 12, 28), initial_stay_months=36
        ),
        registry,
    )
    assert policy_for(Scheme.QMAS, date(2022, 12, 27), registry).initial_stay_months == 12
    assert policy_for(Scheme.QMAS, date(2022, 12, 28), registry).initial_stay_months == 36
    assert policy_for(Scheme.QMAS, TODAY, registry).initial_stay_months == 36
    assert policy_for(Scheme.QMAS, TODAY).initial_stay_months == 12


def test_any_rule_can_change_by_data_alone(registry):
    """An age limit on a scheme that never had one needs a new version, not new code."""
    old = policy_for(Scheme.GEP_PRO, TODAY, registry)
    register(
        dataclasses.replace(old, version="2030-01-01", effective_from=date(2030, 1, 1), min_age=21),
        registry,
    )
    facts = eligible_facts(Scheme.GEP_PRO, date_of_birth=date(2010, 1, 1))
    assert (
        policy_for(Scheme.GEP_PRO, date(2029, 12, 31), registry).check_submission(
            facts, date(2029, 12, 31)
        )
        == []
    )
    assert policy_for(Scheme.GEP_PRO, date(2030, 1, 1), registry).check_submission(
        facts, date(2030, 1, 1)
    ) == ["The applicant is 20 on 1 Jan 2030; GEP (Professionals) requires 21 or over."]


def test_versions_may_be_registered_in_any_order(registry):
    old = policy_for(Scheme.QMAS, TODAY, registry)
    v2024 = dataclasses.replace(old, version="2024", effective_from=date(2024, 1, 1))
    v2022 = dataclasses.replace(old, version="2022", effective_from=date(2022, 1, 1))
    register(v2024, registry)
    register(v2022, registry)
    assert [p.version for p in registry[Scheme.QMAS]] == ["2006-06-28", "2022", "2024"]
    assert policy_for(Scheme.QMAS, date(2023, 6, 1), registry) is v2022
    assert policy_for(Scheme.QMAS, date(2024, 1, 1), registry) is v2024


@pytest.mark.parametrize(
    "changes",
    [
        {"version": "again", "effective_from": SEED_EFFECTIVE_FROM},  # same day: ambiguous
        {"version": "2006-06-28", "effective_from": date(2020, 1, 1)},  # same label
    ],
)
def test_register_refuses_ambiguous_versions(registry, changes):
    old = policy_for(Scheme.ASSG, TODAY, registry)
    with pytest.raises(PolicyError, match="already has policy version"):
        register(dataclasses.replace(old, **changes), registry)


def test_check_submission_refuses_a_date_before_the_version(registry):
    later = dataclasses.replace(
        policy_for(Scheme.QMAS, TODAY), version="2030", effective_from=date(2030, 1, 1)
    )
    with pytest.raises(PolicyError, match="starts on 2030-01-01"):
        later.check_submission(eligible_facts(Scheme.QMAS), TODAY)
    with pytest.raises(TypeError):
        later.check_submission(eligible_facts(Scheme.QMAS), datetime(2030, 3, 2, tzinfo=UTC))


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"min_age": 41, "max_age": 40}, "min_age 41 is above max_age 40"),
        ({"excluded_nationalities": frozenset({"la"})}, "upper-case alpha-2"),
        ({"excluded_nationalities": frozenset({"LAO"})}, "upper-case alpha-2"),
        ({"initial_stay_months": 0}, "initial_stay_months must be positive"),
        ({"extension_window_days": -1}, "extension_window_days must be positive"),
        (
            {
                "transitions": (
                    Transition("submit", "Submit", frozenset({S.DRAFT}), S.SUBMITTED),
                    Transition("submit", "Submit", frozenset({S.DRAFT}), S.WITHDRAWN),
                )
            },
            "'submit' is defined twice",
        ),
    ],
)
def test_invalid_policies_fail_when_defined(changes, fragment):
    with pytest.raises(PolicyError, match=fragment):
        dataclasses.replace(policy_for(Scheme.ASSG, TODAY), **changes)


def test_policies_are_immutable():
    policy = policy_for(Scheme.QMAS, TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.min_age = 16  # type: ignore[misc]
