"""Who may be submitted and who may come along: the policy's submission rules read off a
case, and the dependants' rules (DESIGN §2). Every reason is a lazy message, rendered in the
reader's language when shown."""

from __future__ import annotations

from datetime import date

from backoffice.cases.models import Case, Relationship
from backoffice.cases.schemes import Ground, SchemePolicy, SubmissionFacts
from backoffice.cases.words import LazyDate, lazy_gettext
from backoffice.core.dates import age_on, birthday

# Seed: a principal may bring "unmarried dependent children under the age of 18".
CHILD_AGE_LIMIT = 18


def submission_facts(case: Case, facts: object | None = None) -> SubmissionFacts:
    """What the policy judges of ``case``: its applicant, and its scheme facts, or ``facts``
    (anything with the scheme facts' names, a ``services.CaseFacts``) in their place."""
    applicant = case.applicant
    source = case if facts is None else facts
    return SubmissionFacts(
        date_of_birth=applicant.date_of_birth, nationality=applicant.nationality,
        business_plan=source.business_plan, programme=source.programme,
        job_employer=source.job_employer, job_post=source.job_post,
        job_salary=source.job_salary, job_relevance=source.job_relevance,
        job_local_unavailability=source.job_local_unavailability,
        has_hk_parent=source.has_hk_parent, emigrated_overseas=source.emigrated_overseas)


def scheme_grounds(case: Case, policy: SchemePolicy, facts: object) -> list[Ground]:
    """Every reason ``case``'s applicant, with the scheme facts ``facts``, could not be
    submitted under ``policy`` on the case's submission date ([] = they could): what a
    change of scheme checks before it moves a draft. The dependants' rules are left out:
    they are the same under every scheme, and the case page names what they lack."""
    return policy.submission_grounds(submission_facts(case, facts), case.submitted_on)


def submission_grounds(case: Case) -> list[Ground]:
    """Every reason the case cannot be submitted now, each saying whether it is permanent
    ([] = it can). A dependant's reason names the dependant and is never permanent: the
    dependant can be removed, and the principal's application stands on its own."""
    grounds = case.policy.submission_grounds(submission_facts(case), case.submitted_on)
    for dependant in case.active_dependants:
        problem = dependant_problem(case, dependant.relation, dependant.date_of_birth,
                                    dependant.married, exclude_id=dependant.id,
                                    name=dependant.full_name)
        if problem:
            grounds.append(Ground(problem))
    return grounds


def submission_problems(case: Case) -> list[str]:
    """Every reason the case cannot be submitted now, in words ([] = it can)."""
    return [ground.message for ground in submission_grounds(case)]


def permanent_grounds(case: Case) -> list[Ground]:
    """The reasons the application can never be accepted as it stands, on which a draft may
    be refused as ineligible ([] = none)."""
    return [ground for ground in submission_grounds(case) if ground.permanent]


def dependant_problem(case: Case, relation: Relationship, date_of_birth: date,
                      married: bool | None, exclude_id: int | None = None,
                      name: str | None = None) -> str | None:
    """Why this dependant cannot be on the case, in words, or None; ``name`` given, the
    sentence names the dependant.

    A child's age is taken on the case's submission date (DESIGN §2).
    """
    on = case.submitted_on
    # Each reason twice: on its own (the dependant form refusing it) and naming the
    # dependant (the case's list of reasons it cannot be submitted).
    if relation == Relationship.SPOUSE:
        spouses = [d for d in case.active_dependants
                   if d.relation == Relationship.SPOUSE and d.id != exclude_id]
        if not spouses:
            return None
        spouse = spouses[0].full_name
        if name is None:
            return lazy_gettext("The case already has a spouse (%(spouse)s); remove that "
                                "record first.", spouse=spouse)
        return lazy_gettext("%(name)s: The case already has a spouse (%(spouse)s); remove "
                            "that record first.", name=name, spouse=spouse)
    if married:
        if name is None:
            return lazy_gettext("Only unmarried children can be dependants.")
        return lazy_gettext("%(name)s: Only unmarried children can be dependants.", name=name)
    if date_of_birth > on:
        return None  # born after the application: under 18 on any later date that matters
    if age_on(date_of_birth, on) < CHILD_AGE_LIMIT:
        return None
    eighteenth = birthday(date_of_birth, CHILD_AGE_LIMIT)
    values = {"age": CHILD_AGE_LIMIT, "birthday": LazyDate(eighteenth),
              "submitted": LazyDate(on), "name": name}
    if eighteenth == on and name is None:
        return lazy_gettext("Turned %(age)d on %(birthday)s, on the submission date "
                            "(%(submitted)s); children must be under %(age)d on that date.",
                            **values)
    if eighteenth == on:
        return lazy_gettext("%(name)s: Turned %(age)d on %(birthday)s, on the submission date "
                            "(%(submitted)s); children must be under %(age)d on that date.",
                            **values)
    if name is None:
        return lazy_gettext("Turned %(age)d on %(birthday)s, before the submission date "
                            "(%(submitted)s); children must be under %(age)d on that date.",
                            **values)
    return lazy_gettext("%(name)s: Turned %(age)d on %(birthday)s, before the submission date "
                        "(%(submitted)s); children must be under %(age)d on that date.",
                        **values)
