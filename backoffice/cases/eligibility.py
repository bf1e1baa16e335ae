"""Who may be submitted and who may come along: the policy's submission rules read off a
case, and the dependants' rules (DESIGN §2)."""

from __future__ import annotations

from datetime import date

from backoffice.cases.models import Case, Relationship
from backoffice.cases.schemes import SubmissionFacts
from backoffice.core.dates import age_on, birthday

# Seed: a principal may bring "unmarried dependent children under the age of 18".
CHILD_AGE_LIMIT = 18


def submission_facts(case: Case) -> SubmissionFacts:
    applicant = case.applicant
    return SubmissionFacts(
        date_of_birth=applicant.date_of_birth, nationality=applicant.nationality,
        business_plan=case.business_plan, programme=case.programme,
        job_employer=case.job_employer, job_post=case.job_post, job_salary=case.job_salary,
        job_relevance=case.job_relevance, job_local_unavailability=case.job_local_unavailability,
        has_hk_parent=case.has_hk_parent, emigrated_overseas=case.emigrated_overseas)


def submission_problems(case: Case) -> list[str]:
    """Every reason the case cannot be submitted now, in words ([] = it can)."""
    problems = case.policy.check_submission(submission_facts(case), case.submitted_on)
    for dependant in case.active_dependants:
        problem = dependant_problem(case, dependant.relation, dependant.date_of_birth,
                                    dependant.married, exclude_id=dependant.id)
        if problem:
            problems.append(f"{dependant.full_name}: {problem}")
    return problems


def dependant_problem(case: Case, relation: Relationship, date_of_birth: date,
                      married: bool | None, exclude_id: int | None = None) -> str | None:
    """Why this dependant cannot be on the case, in words, or None.

    A child's age is taken on the case's submission date (DESIGN §2).
    """
    on = case.submitted_on
    if relation == Relationship.SPOUSE:
        spouses = [d for d in case.active_dependants
                   if d.relation == Relationship.SPOUSE and d.id != exclude_id]
        if spouses:
            return (f"The case already has a spouse ({spouses[0].full_name}); "
                    "remove that record first.")
        return None
    if married:
        return "Only unmarried children can be dependants."
    if date_of_birth > on:
        return None  # born after the application: under 18 on any later date that matters
    if age_on(date_of_birth, on) >= CHILD_AGE_LIMIT:
        eighteenth = birthday(date_of_birth, CHILD_AGE_LIMIT)
        when = "on" if eighteenth == on else "before"
        return (f"Turned {CHILD_AGE_LIMIT} on {eighteenth}, {when} the submission date "
                f"({on}); children must be under {CHILD_AGE_LIMIT} on that date.")
    return None
