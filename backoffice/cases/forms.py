"""Forms for cases, dependants, lifecycle steps, assignment and the queue filters."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from backoffice.cases.models import Relationship
from backoffice.cases.schemes import CaseStatus, GovernmentProgramme, Scheme
from backoffice.cases.services import ApplicantData, CaseFacts, IdentityData
from backoffice.core.forms import BaseForm, SelectField, choices_of, none_if_blank, strip
from backoffice.core.identity import (
    country_choices,
    normalise_country,
    normalise_hkid,
    normalise_passport,
)

SCHEME_CHOICES = choices_of((s.value, f"{s.short_label} — {s.label}") for s in Scheme)
STATUS_CHOICES = choices_of((s.value, s.label) for s in CaseStatus)
PROGRAMME_CHOICES = choices_of([("", "None"), *((p.value, p.label) for p in GovernmentProgramme)])
RELATION_CHOICES = choices_of((r.value, r.label) for r in Relationship)


class AmountRange(NumberRange):
    """NumberRange for an amount in dollars and cents, typed into a DecimalField.

    Decimal reads "NaN", "sNaN" and "Infinity" as numbers, and a signalling NaN makes
    NumberRange itself raise (a 500): none is an amount. A third decimal place would be
    rounded away by the database, differently by each (60000.125 is stored as 60000.13 on
    PostgreSQL and 60000.12 on SQLite), so it is refused rather than silently changed.
    """

    CENT = Decimal("0.01")

    def __call__(self, form, field) -> None:
        amount = field.data
        if isinstance(amount, Decimal) and not amount.is_finite():
            raise ValidationError(self.message)
        super().__call__(form, field)
        if isinstance(amount, Decimal) and amount != amount.quantize(self.CENT):
            raise ValidationError("Enter the amount in dollars and cents, with at most two "
                                  "decimal places.")


# A job offer without pay is no job offer: the smallest salary is one cent.
MONTHLY_SALARY = AmountRange(min=AmountRange.CENT, max=10_000_000,
                             message="Enter a monthly salary above 0 and at most 10,000,000.")


def assignee_choices(people) -> list[SelectChoice]:
    """The people a case can be given to (rows of id and full name), as select options."""
    return choices_of((person.id, person.full_name) for person in people)


@cache
def countries_after(blank: str) -> tuple[SelectChoice, ...]:
    """Every country after a blank choice worded ``blank``: one tuple per wording, so the
    select renders its ~250 options once per process (see ``CachedSelect``)."""
    return tuple(choices_of([("", blank), *country_choices()]))


def _normalised(normalise):
    """A validator that replaces the field's data with its normal form, or explains why not."""

    def check(_form, field) -> None:
        if not field.data:
            return
        try:
            field.data = normalise(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    return check


class VersionedForm(BaseForm):
    """Carries the case version the page was rendered with, for optimistic locking."""

    version = IntegerField(widget=HiddenInput(), validators=[
        InputRequired("The form is missing its version; reload the case.")])


class IdentityFields:
    """The identity fields shared by the applicant and dependant forms (DESIGN §2)."""

    # DataRequired, not InputRequired: it looks at the value after stripping, so a field of
    # spaces is refused too.
    family_name = StringField("Family name (Latin script)", filters=[strip], validators=[
        DataRequired("Enter the family name."), Length(max=100)])
    given_names = StringField("Given names (Latin script)", filters=[strip], validators=[
        DataRequired("Enter the given names."), Length(max=150)])
    chinese_name = StringField("Chinese name", filters=[none_if_blank], validators=[
        Optional(), Length(max=50)], description="Optional.")
    date_of_birth = DateField("Date of birth", validators=[
        InputRequired("Enter the date of birth as YYYY-MM-DD.")])
    nationality = SelectField("Nationality", choices=choices_of([("", "Choose a country")]),
                              validators=[DataRequired("Choose the nationality."),
                                          _normalised(normalise_country)])
    passport_number = StringField("Passport number", filters=[strip], validators=[
        DataRequired("Enter the passport number."), _normalised(normalise_passport)])
    hkid = StringField("HKID number", filters=[none_if_blank], validators=[
        Optional(), _normalised(normalise_hkid)],
        description="Optional. Format A123456(3) or AB987654(3); the check digit is verified.")

    def fill_countries(self) -> None:
        self.nationality.choices = countries_after("Choose a country")

    def identity_data(self) -> dict:
        return {
            "family_name": self.family_name.data, "given_names": self.given_names.data,
            "chinese_name": self.chinese_name.data, "date_of_birth": self.date_of_birth.data,
            "nationality": self.nationality.data, "passport_number": self.passport_number.data,
            "hkid": self.hkid.data,
        }


class CaseForm(IdentityFields, BaseForm):
    """New case and edit case. The scheme is chosen once, at creation."""

    scheme = SelectField("Scheme", choices=SCHEME_CHOICES, validators=[
        InputRequired("Choose the scheme.")])
    submitted_on = DateField("Submission date", validators=[
        InputRequired("Enter the date the application was received, as YYYY-MM-DD.")],
        description="The date the application was received. Eligibility and the policy "
                    "version are judged on it.")
    email = StringField("Email address", filters=[none_if_blank], validators=[
        Optional(), Email("Enter a valid email address.", check_deliverability=False),
        Length(max=254)])
    phone = StringField("Phone", filters=[none_if_blank], validators=[Optional(), Length(max=30)])
    email_consent = BooleanField("The applicant agrees to receive deadline reminders by email")
    business_plan = TextAreaField("Business plan (entrepreneurs)", filters=[none_if_blank],
                                  validators=[Optional(), Length(max=20000)])
    programme = SelectField("Government-backed programme (entrepreneurs)",
                            choices=PROGRAMME_CHOICES,
                            description="Support from one of these programmes marks the case "
                                        "for favourable consideration.")
    job_employer = StringField("Employer (professionals)", filters=[none_if_blank],
                               validators=[Optional(), Length(max=200)])
    job_post = StringField("Post (professionals)", filters=[none_if_blank],
                           validators=[Optional(), Length(max=200)])
    job_salary = DecimalField("Monthly salary in HKD (professionals)", places=2,
                              validators=[Optional(), MONTHLY_SALARY])
    job_relevance = TextAreaField("Relevance to qualifications or experience (professionals)",
                                  filters=[none_if_blank], validators=[Optional(),
                                                                        Length(max=5000)])
    job_local_unavailability = TextAreaField(
        "Why the post cannot readily be filled locally (professionals)",
        filters=[none_if_blank], validators=[Optional(), Length(max=5000)])
    has_hk_parent = BooleanField("A parent is a Chinese Hong Kong permanent resident (ASSG)")
    emigrated_overseas = BooleanField("The applicant has emigrated overseas (ASSG)")
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    submit = SubmitField("Save")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fill_countries()

    def applicant_data(self) -> ApplicantData:
        return ApplicantData(**self.identity_data(), email=self.email.data,
                             phone=self.phone.data, email_consent=bool(self.email_consent.data))

    def case_facts(self) -> CaseFacts:
        programme = self.programme.data
        return CaseFacts(
            submitted_on=self.submitted_on.data, business_plan=self.business_plan.data,
            programme=GovernmentProgramme(programme) if programme else None,
            job_employer=self.job_employer.data, job_post=self.job_post.data,
            job_salary=self.job_salary.data, job_relevance=self.job_relevance.data,
            job_local_unavailability=self.job_local_unavailability.data,
            has_hk_parent=bool(self.has_hk_parent.data),
            emigrated_overseas=bool(self.emigrated_overseas.data))


class DependantForm(IdentityFields, VersionedForm):
    relation = SelectField("Relationship to the applicant", choices=RELATION_CHOICES,
                           validators=[InputRequired("Choose spouse or child.")])
    married = BooleanField("The child is married")
    submit = SubmitField("Add dependant")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fill_countries()

    def data_for_service(self) -> IdentityData:
        return IdentityData(**self.identity_data())


class ReasonForm(VersionedForm):
    """A lifecycle step or a removal; the reason is required where the rule says so."""

    reason = TextAreaField("Reason", filters=[none_if_blank],
                           validators=[Optional(), Length(max=2000)])
    # Step data: only "Record arrival" uses it.
    arrived_on = DateField("Arrival date", validators=[Optional()])
    submit = SubmitField("Confirm")


class TakeForm(VersionedForm):
    submit = SubmitField("Assign to me")


class ReassignForm(VersionedForm):
    assignee = SelectField("Assign to", coerce=int, validators=[
        InputRequired("Choose a caseworker.")])
    submit = SubmitField("Reassign")


class BulkReassignForm(BaseForm):
    case_ids = SelectMultipleField("Cases", coerce=int, choices=[], validate_choice=False,
                                   validators=[DataRequired("Tick at least one case.")])
    assignee = SelectField("Assign the ticked cases to", coerce=int, validators=[
        InputRequired("Choose a caseworker.")])
    submit = SubmitField("Reassign ticked cases")


SORT_CHOICES = choices_of([
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("submitted_desc", "Submission date, latest first"),
    ("submitted_asc", "Submission date, earliest first"),
])


class QueueFilterForm(BaseForm):
    """The filters of every work queue; read from the query string (no CSRF: it changes
    nothing)."""

    class Meta:
        csrf = False

    q = StringField("Search", filters=[none_if_blank], validators=[Optional(), Length(max=100)],
                    description="Reference, name (Latin or Chinese, partial), passport or HKID.")
    scheme = SelectField("Scheme", choices=choices_of(
        [("", "Any scheme"), *((s.value, s.short_label) for s in Scheme)]),
        validators=[Optional()])
    status = SelectField("Status", choices=[*choices_of([("", "Any status")]), *STATUS_CHOICES],
                         validators=[Optional()])
    assignee = SelectField("Assignee", coerce=lambda v: int(v) if v else None,
                           validators=[Optional()])
    nationality = SelectField("Nationality", validators=[Optional()])
    submitted_from = DateField("Submitted from", validators=[Optional()])
    submitted_to = DateField("Submitted to", validators=[Optional()])
    sort = SelectField("Sort", choices=SORT_CHOICES, default="newest", validators=[Optional()],
                       )

    def __init__(self, *args, assignees=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.nationality.choices = countries_after("Any nationality")
        self.assignee.choices = [*choices_of([("", "Anyone")]), *assignee_choices(assignees)]

    def validate_submitted_to(self, field) -> None:
        start: date | None = self.submitted_from.data
        if field.data and start and field.data < start:
            raise ValidationError("The end date is before the start date.")


class CorrectArrivalForm(VersionedForm):
    arrived_on = DateField("Corrected arrival date", validators=[
        InputRequired("Enter the arrival date as YYYY-MM-DD.")])
    reason = TextAreaField("Reason for the correction", filters=[none_if_blank], validators=[
        DataRequired("Give a reason for the correction."), Length(max=2000)])
    submit = SubmitField("Correct arrival date")


class JobOfferForm(VersionedForm):
    employer = StringField("Employer", filters=[strip], validators=[
        DataRequired("Enter the employer."), Length(max=200)])
    post = StringField("Post", filters=[strip], validators=[
        DataRequired("Enter the post."), Length(max=200)])
    salary = DecimalField("Monthly salary in HKD", places=2, validators=[
        InputRequired("Enter the monthly salary."), MONTHLY_SALARY])
    start_date = DateField("Start date", validators=[
        InputRequired("Enter the start date as YYYY-MM-DD.")])
    submit = SubmitField("Record job offer")
