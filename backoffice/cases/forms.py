"""Forms for cases, dependants, lifecycle steps, assignment and the queue filters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from datetime import date
from decimal import Decimal
from functools import lru_cache

import wtforms
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
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from backoffice.cases.duplicates import DUPLICATE_REASON_LENGTH
from backoffice.cases.models import (
    NOTE_LENGTH,
    SAVED_FILTER_NAME_LENGTH,
    VISA_NUMBER_LENGTH,
    Case,
    CaseNote,
    Relationship,
)
from backoffice.cases.schemes import (
    CaseStatus,
    Effect,
    GovernmentProgramme,
    Guard,
    PolicyError,
    Scheme,
    SchemePolicy,
    Transition,
    policy_for,
)
from backoffice.cases.services import (
    FIXED_REASON,
    SCHEME_CHANGE_REASON_LENGTH,
    ApplicantData,
    CaseFacts,
    IdentityData,
    StepData,
    current_value,
    fixed_fields,
)
from backoffice.cases.stay import GROUNDS_LENGTH
from backoffice.cases.words import LazyCountry, LazyDate, LazyList, LazyNumber
from backoffice.core.converters import DB_INT_MAX
from backoffice.core.dates import hk_today
from backoffice.core.forms import (
    BaseForm,
    SelectField,
    choices_of,
    country_options,
    none_if_blank,
    strip,
)
from backoffice.core.i18n import (
    DEFAULT_LANGUAGE,
    format_datetime,
    language_choices,
    language_for,
)
from backoffice.core.i18n import lazy_gettext as _l
from backoffice.core.identity import (
    normalise_country,
    normalise_hkid,
    normalise_passport,
)

SCHEME_CHOICES = choices_of((s.value, _l("%(code)s — %(name)s", code=s.short_label, name=s.label))
                            for s in Scheme)
STATUS_CHOICES = choices_of((s.value, s.label) for s in CaseStatus)
PROGRAMME_CHOICES = choices_of([("", _l("None")),
                                *((p.value, p.label) for p in GovernmentProgramme)])
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
            raise ValidationError(_l("Enter the amount in dollars and cents, with at most two "
                                     "decimal places."))


# A job offer without pay is no job offer: the smallest salary is one cent.
MONTHLY_SALARY = AmountRange(min=AmountRange.CENT, max=10_000_000,
                             message=_l("Enter a monthly salary above 0 and at most "
                                        "10,000,000."))


def assignee_choices(people, anyone: bool = False) -> tuple[SelectChoice, ...]:
    """The people a case can be given to (rows of id and full name), as select options, after
    a blank "Anyone" (``anyone``, for a filter): one tuple per list of people, so that a
    select renders and checks it from its per-process cache (core.forms.SelectField); a
    supervisor's queue page lists them twice."""
    return _assignee_options(tuple((person.id, person.full_name) for person in people), anyone)


@lru_cache(maxsize=16)
def _assignee_options(people: tuple[tuple[int, str], ...],
                      anyone: bool) -> tuple[SelectChoice, ...]:
    # The blank's label is lazy: one tuple serves every language.
    blank = [("", _l("Anyone"))] if anyone else []
    return tuple(choices_of([*blank, *people]))


def countries_after(blank: str) -> tuple[SelectChoice, ...]:
    """Every country, in the reader's language, after a blank choice worded ``blank`` (one
    cached tuple per wording and language: ``core.forms.country_options``)."""
    return country_options(blank)


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
        InputRequired(_l("The form is missing its version; reload the case."))])


class IdentityFields:
    """The identity fields shared by the applicant and dependant forms (DESIGN §2)."""

    # DataRequired, not InputRequired: it looks at the value after stripping, so a field of
    # spaces is refused too.
    family_name = StringField(_l("Family name (Latin script)"), filters=[strip], validators=[
        DataRequired(_l("Enter the family name.")), Length(max=100)])
    given_names = StringField(_l("Given names (Latin script)"), filters=[strip], validators=[
        DataRequired(_l("Enter the given names.")), Length(max=150)])
    chinese_name = StringField(_l("Chinese name"), filters=[none_if_blank], validators=[
        Optional(), Length(max=50)], description=_l("Optional."))
    date_of_birth = DateField(_l("Date of birth"), validators=[
        InputRequired(_l("Enter the date of birth as YYYY-MM-DD."))])
    nationality = SelectField(_l("Nationality"),
                              choices=choices_of([("", _l("Choose a country"))]),
                              validators=[DataRequired(_l("Choose the nationality.")),
                                          _normalised(normalise_country)])
    passport_number = StringField(_l("Passport number"), filters=[strip], validators=[
        DataRequired(_l("Enter the passport number.")), _normalised(normalise_passport)])
    hkid = StringField(_l("HKID number"), filters=[none_if_blank], validators=[
        Optional(), _normalised(normalise_hkid)],
        description=_l("Optional. Format A123456(3) or AB987654(3); the check digit is "
                       "verified."))

    def fill_countries(self) -> None:
        self.nationality.choices = countries_after(_l("Choose a country"))

    def identity_data(self) -> dict:
        return {
            "family_name": self.family_name.data, "given_names": self.given_names.data,
            "chinese_name": self.chinese_name.data, "date_of_birth": self.date_of_birth.data,
            "nationality": self.nationality.data, "passport_number": self.passport_number.data,
            "hkid": self.hkid.data,
        }


class DuplicateFields:
    """Saving a person who matches someone in another case (cases/duplicates.py): the
    confirmation and its reason, shown with the matches once the service found some
    (``matches``, set by the view)."""

    accept_duplicates = BooleanField(_l("Save anyway: this is a different person / a new "
                                        "application for the same person"))
    duplicate_reason = TextAreaField(
        _l("Reason for saving anyway"), filters=[none_if_blank],
        validators=[Optional(), Length(max=DUPLICATE_REASON_LENGTH)],
        description=_l("Required when saving anyway; recorded in the case history with the "
                       "cases matched."))
    matches: list = ()

    def accepted_reason(self) -> str | None:
        """None unless saving anyway is confirmed; then the reason as typed ('' if none),
        which the service requires."""
        if not self.accept_duplicates.data:
            return None
        return self.duplicate_reason.data or ""


@dataclass(frozen=True)
class FactSection:
    """A group of scheme facts on the case form, shown for the schemes whose policy asks for
    them (read from the policy's fields, so a new policy version needs no change here)."""

    key: str
    title: object
    fields: tuple[str, ...]
    asked_by: Callable[[SchemePolicy], bool]

    def schemes(self, on: date) -> list[Scheme]:
        """The schemes whose policy in force ``on`` asks for this section."""
        return [s for s in Scheme if _asks(self, s, on)]


def _asks(section: FactSection, scheme: Scheme, on: date | None) -> bool:
    """Whether ``scheme``'s policy in force ``on`` asks for ``section`` (yes, when no policy
    answers: the service refuses such a case in words, and nothing typed is dropped first)."""
    if on is None:
        return True
    try:
        return section.asked_by(policy_for(scheme, on))
    except PolicyError:
        return True


FACT_SECTIONS = (
    FactSection("entrepreneur", _l("Entrepreneurs (GEP)"), ("business_plan", "programme"),
                lambda p: p.requires_business_plan or bool(p.favourable_programmes)),
    FactSection("job-offer", _l("Professionals (GEP): confirmed job offer"),
                ("job_employer", "job_post", "job_salary", "job_relevance",
                 "job_local_unavailability"),
                lambda p: p.requires_job_offer),
    FactSection("family", _l("Second generation (ASSG)"), ("has_hk_parent", "emigrated_overseas"),
                lambda p: p.requires_hk_parent_and_emigration),
)


@dataclass(frozen=True)
class FixedField:
    """A field the case no longer lets change, shown as text with the reason."""

    name: str
    label: object
    value: object
    reason: object = FIXED_REASON


def _shown(name: str, value: object) -> object:
    """A stored value as the edit form shows a fixed field."""
    if value is None or value == "":
        return _l("(none)")
    if isinstance(value, bool):
        return _l("Yes") if value else _l("No")
    if isinstance(value, date):
        return LazyDate(value)
    if isinstance(value, Decimal):
        return LazyNumber(value)
    if isinstance(value, GovernmentProgramme):
        return value.label
    if name == "nationality":
        return _l("%(country)s (%(code)s)", country=LazyCountry(str(value)), code=value)
    return value


class CaseForm(IdentityFields, DuplicateFields, BaseForm):
    """New case and edit case. The scheme is chosen once, at creation."""

    scheme = SelectField(_l("Scheme"), choices=SCHEME_CHOICES, validators=[
        InputRequired(_l("Choose the scheme."))],
        description=_l("Only the chosen scheme's section below is saved."),
        render_kw={"data-scheme-sections": "true"})
    submitted_on = DateField(_l("Submission date"), validators=[
        InputRequired(_l("Enter the date the application was received, as YYYY-MM-DD."))],
        description=_l("The date the application was received. Eligibility and the policy "
                       "version are judged on it."))
    email = StringField(_l("Email address"), filters=[none_if_blank], validators=[
        Optional(), Email(_l("Enter a valid email address."), check_deliverability=False),
        Length(max=254)])
    phone = StringField(_l("Phone"), filters=[none_if_blank],
                        validators=[Optional(), Length(max=30)])
    # Each language names itself ("English", "繁體中文"), marked with its own lang so a screen
    # reader says it right; WTForms' own select writes that per option (two options: the
    # cached select is not needed).
    language = wtforms.SelectField(_l("Correspondence language"), choices=[
        SelectChoice(code, name, render_kw={"lang": language_for(code).tag})
        for code, name in language_choices()],
                           default=DEFAULT_LANGUAGE, validators=[Optional()],
                           description=_l("The language letters and reminders to the applicant "
                                          "are written in."))
    email_consent = BooleanField(_l("The applicant agrees to receive deadline reminders by "
                                    "email"))
    business_plan = TextAreaField(_l("Business plan (entrepreneurs)"), filters=[none_if_blank],
                                  validators=[Optional(), Length(max=20000)])
    programme = SelectField(_l("Government-backed programme (entrepreneurs)"),
                            choices=PROGRAMME_CHOICES,
                            description=_l("Support from one of these programmes marks the "
                                           "case for favourable consideration."))
    job_employer = StringField(_l("Employer (professionals)"), filters=[none_if_blank],
                               validators=[Optional(), Length(max=200)])
    job_post = StringField(_l("Post (professionals)"), filters=[none_if_blank],
                           validators=[Optional(), Length(max=200)])
    job_salary = DecimalField(_l("Monthly salary in HKD (professionals)"), places=2,
                              validators=[Optional(), MONTHLY_SALARY])
    job_relevance = TextAreaField(
        _l("Relevance to qualifications or experience (professionals)"),
        filters=[none_if_blank], validators=[Optional(), Length(max=5000)])
    job_local_unavailability = TextAreaField(
        _l("Why the post cannot readily be filled locally (professionals)"),
        filters=[none_if_blank], validators=[Optional(), Length(max=5000)])
    has_hk_parent = BooleanField(_l("A parent is a Chinese Hong Kong permanent resident "
                                    "(ASSG)"))
    emigrated_overseas = BooleanField(_l("The applicant has emigrated overseas (ASSG)"))
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, case: Case | None = None, **kwargs) -> None:
        """``case``: the case edited (None for a new case). Its form keeps only the fields of
        its scheme, shows the fields it no longer lets change as text (:attr:`fixed`) and
        takes every field it does not show from the case, whatever was posted."""
        super().__init__(*args, **kwargs)
        self.fill_countries()
        self.case = case
        self.fixed: dict[str, FixedField] = {}
        self.sections = FACT_SECTIONS
        if case is None:
            return
        del self.scheme  # chosen once, at creation
        policy = case.policy
        self.sections = tuple(s for s in FACT_SECTIONS if s.asked_by(policy))
        shown = {name for s in self.sections for name in s.fields}
        for name in fixed_fields(case):
            if name in self and (name in shown or name not in _SECTION_FIELDS):
                self.fixed[name] = FixedField(name, self[name].label.text,
                                              _shown(name, current_value(case, name)))
            if name in self:
                del self[name]
        for name in _SECTION_FIELDS - shown:
            if name in self:
                del self[name]

    def _value(self, name: str, default: object = None) -> object:
        """A field's data, or, for a field the form does not have, the case's own value."""
        if name in self:
            return self[name].data
        return current_value(self.case, name) if self.case is not None else default

    def applicant_data(self) -> ApplicantData:
        names = [f.name for f in fields(ApplicantData)]
        values = {name: self._value(name) for name in names}
        values["email_consent"] = bool(values["email_consent"])
        values["language"] = values["language"] or DEFAULT_LANGUAGE
        return ApplicantData(**values)

    def case_facts(self, scheme: Scheme | None = None) -> CaseFacts:
        """The scheme facts; for a new case of ``scheme``, only the sections that scheme's
        policy asks for (another scheme's section, filled before the scheme was changed, is
        not kept)."""
        return facts_of({name: self._value(name, default)
                         for name, default in _FACT_DEFAULTS.items()}, scheme)

    def section_schemes(self, section: FactSection) -> LazyList:
        """The schemes a section is for, as the new-case form heads it."""
        return LazyList(s.short_label for s in section.schemes(self._today()))

    def section_codes(self, section: FactSection) -> str:
        """The scheme codes a section is for (the script that hides the other schemes'
        sections reads them)."""
        return " ".join(s.value for s in section.schemes(self._today()))

    def _today(self) -> date:
        submitted_on = self.submitted_on.data if "submitted_on" in self else None
        return submitted_on if isinstance(submitted_on, date) else hk_today()


_SECTION_FIELDS = frozenset(name for s in FACT_SECTIONS for name in s.fields)
_FACT_DEFAULTS = {f.name: None if f.default is MISSING else f.default for f in fields(CaseFacts)}


def facts_of(values: dict, scheme: Scheme | None = None) -> CaseFacts:
    """The scheme facts a form read (``values``: every CaseFacts field by name, as typed);
    ``scheme`` given, only the sections its policy asks for (another scheme's section,
    filled before the scheme was chosen, is not kept)."""
    values = dict(values)
    if scheme is not None:
        for section in FACT_SECTIONS:
            if not _asks(section, scheme, values["submitted_on"]):
                values.update((name, _FACT_DEFAULTS[name]) for name in section.fields)
    programme = values["programme"]
    if programme and not isinstance(programme, GovernmentProgramme):
        values["programme"] = GovernmentProgramme(programme)
    values["programme"] = values["programme"] or None
    values["has_hk_parent"] = bool(values["has_hk_parent"])
    values["emigrated_overseas"] = bool(values["emigrated_overseas"])
    return CaseFacts(**values)


class SchemeChangeForm(VersionedForm):
    """A draft's change of scheme: the new scheme, its section's facts, and why. Every
    scheme's section is shown, each headed with the schemes it is for (app.js hides the
    others as the scheme changes; the page works without it), and only the chosen scheme's
    are kept. ``confirmed`` is set by the page that shows the answers and what the change
    will do, ``change`` by its "Change your answers" button (as on a step's own page)."""

    # Every scheme is read (the case's own is refused by the service, in words, after the
    # form's version: a page shown before someone else moved the case is told so); the
    # select offers the others.
    scheme = SelectField(_l("New scheme"), validate_choice=False, validators=[
        InputRequired(_l("Choose the new scheme.")),
        AnyOf([s.value for s in Scheme], message=_l("Not a valid choice."))],
        render_kw={"data-scheme-sections": "true"},
        description=_l("Only the chosen scheme's section below is saved."))
    # The scheme facts exactly as the case form asks for them: the same labels and rules.
    business_plan = CaseForm.business_plan
    programme = CaseForm.programme
    job_employer = CaseForm.job_employer
    job_post = CaseForm.job_post
    job_salary = CaseForm.job_salary
    job_relevance = CaseForm.job_relevance
    job_local_unavailability = CaseForm.job_local_unavailability
    has_hk_parent = CaseForm.has_hk_parent
    emigrated_overseas = CaseForm.emigrated_overseas
    reason = TextAreaField(_l("Reason for the change of scheme"), filters=[none_if_blank],
                           validators=[DataRequired(_l("Give a reason for changing the scheme; "
                                                       "it is recorded in the case history.")),
                                       Length(max=SCHEME_CHANGE_REASON_LENGTH)],
                           description=_l("Recorded in the case history with the change."))
    confirmed = wtforms.HiddenField(filters=[none_if_blank])
    change = wtforms.HiddenField(filters=[none_if_blank])

    def __init__(self, *args, case: Case, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.sections = FACT_SECTIONS
        self.scheme.choices = choices_of([
            ("", _l("Choose the new scheme")),
            *((s.value, _l("%(code)s — %(name)s", code=s.short_label, name=s.label))
              for s in Scheme if s != case.scheme)])

    @classmethod
    def for_case(cls, case: Case) -> SchemeChangeForm:
        """The form as a fresh page shows it: the case's own facts filled in."""
        return cls(formdata=None, obj=case, case=case, version=case.version, data={
            "scheme": "", "programme": case.programme.value if case.programme else ""})

    @property
    def fact_fields(self) -> list[str]:
        """The names of the scheme facts' fields, section by section (what the check page
        carries on, as typed)."""
        return [name for section in self.sections for name in section.fields]

    @property
    def chosen(self) -> Scheme | None:
        try:
            return Scheme(self.scheme.data)
        except ValueError:
            return None

    def case_facts(self) -> CaseFacts:
        """The case's scheme facts as they are to be: the chosen scheme's sections as typed,
        every other one cleared; the submission date the case's own."""
        values = {name: self[name].data for name in _SECTION_FIELDS}
        return facts_of({**values, "submitted_on": self.case.submitted_on}, self.chosen)

    def section_schemes(self, section: FactSection) -> LazyList:
        """The schemes a section is for, as the page heads it."""
        return LazyList(s.short_label for s in section.schemes(self.case.submitted_on))

    def section_codes(self, section: FactSection) -> str:
        """The scheme codes a section is for (the script that hides the others reads them)."""
        return " ".join(s.value for s in section.schemes(self.case.submitted_on))

    @property
    def answers(self) -> list[tuple[str, object]]:
        """(label, value as typed) of the new scheme and of each fact it asks for, then the
        reason, for the page that shows them before the change is confirmed."""
        chosen = self.chosen
        shown: list[tuple[str, object]] = [
            (self.scheme.label.text, chosen.label if chosen else self.scheme.data)]
        facts = self.case_facts()
        for section in self.sections:
            if chosen is not None and _asks(section, chosen, self.case.submitted_on):
                shown += [(self[name].label.text, _shown(name, getattr(facts, name)))
                          for name in section.fields]
        shown.append((self.reason.label.text, self.reason.data))
        return shown


class DependantForm(IdentityFields, DuplicateFields, VersionedForm):
    relation = SelectField(_l("Relationship to the applicant"), choices=RELATION_CHOICES,
                           validators=[InputRequired(_l("Choose spouse or child."))])
    married = BooleanField(_l("The child is married"))
    submit = SubmitField(_l("Add dependant"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fill_countries()

    def data_for_service(self) -> IdentityData:
        return IdentityData(**self.identity_data())


class ReasonForm(VersionedForm):
    """A removal (or anything else that asks only for a reason)."""

    reason = TextAreaField(_l("Reason"), filters=[none_if_blank],
                           validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Confirm"))


def _date_label(step: Transition) -> str:
    if Effect.START_STAY in step.effects:
        return _l("Arrival date")
    if Guard.VISA_DETAILS in step.guards:
        return _l("Date the visa was issued")
    if Guard.EXTENSION_REQUEST in step.guards:
        return _l("Date the extension was requested")
    return _l("Date it happened")


class StepForm(VersionedForm):
    """What a lifecycle step asks for: the date it happened and what the step needs besides
    (a reason, a visa's details, an extension's length, grounds and job offer). Built for
    one step of one case: the fields the step does not ask for are removed, so the form,
    the page and the service agree on what is read. ``confirmed`` is set by the page that
    shows the answers and their consequences, ``change`` by its "Change" button."""

    on = DateField(_l("Date it happened"), validators=[
        InputRequired(_l("Enter the date as YYYY-MM-DD."))])
    reason = TextAreaField(_l("Reason"), filters=[none_if_blank], validators=[Length(max=2000)])
    visa_number = StringField(_l("Visa or entry permit number"), filters=[none_if_blank],
                              validators=[InputRequired(_l("Enter the visa or entry permit "
                                                           "number.")),
                                          Length(max=VISA_NUMBER_LENGTH)])
    visa_valid_until = DateField(
        _l("Valid for entry until"), validators=[
            InputRequired(_l("Enter the last day the visa allows entry, as YYYY-MM-DD."))],
        description=_l("The last day the applicant may enter Hong Kong on it: a deadline is "
                       "opened for it."))
    months = IntegerField(_l("Length in months"), validators=[
        InputRequired(_l("Enter the length in months.")), NumberRange(min=1, max=120)])
    grounds = TextAreaField(_l("Grounds of the request"), filters=[none_if_blank],
                            validators=[InputRequired(_l("Give the grounds of the request.")),
                                        Length(max=GROUNDS_LENGTH)],
                            description=_l("What the applicant does in Hong Kong and why the "
                                           "stay should continue."))
    job_offer_id = SelectField(_l("The job offer it rests on"), coerce=int,
                               validators=[InputRequired(_l("Choose the job offer."))])
    confirmed = wtforms.HiddenField(filters=[none_if_blank])
    change = wtforms.HiddenField(filters=[none_if_blank])

    def __init__(self, *args, step: Transition, case: Case, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.step = step
        self.on.label.text = _date_label(step)
        if not step.dated:
            del self.on
        if step.needs_reason:
            self.reason.label.text = _l("Reason for “%(step)s”", step=step.label)
            self.reason.validators = [DataRequired(step.reason_prompt or _l("Give a reason.")),
                                      Length(max=2000)]
            self.reason.flags.required = True
        else:
            del self.reason
        if Guard.VISA_DETAILS not in step.guards:
            del self.visa_number, self.visa_valid_until
        most = case.stay_extension_months or 1
        if Guard.EXTENSION_REQUEST in step.guards:
            self.months.label.text = _l("Length asked, in months")
            self.months.description = _l("At most %(num)s months under this scheme.", num=most)
        elif Guard.EXTENSION_GRANT in step.guards:
            self.months.label.text = _l("Length granted, in months")
            self.months.description = _l(
                "The policy's length is %(num)s months; a shorter extension may be granted.",
                num=most) if case.policy.shorter_extension_allowed else _l(
                "This scheme grants %(num)s months.", num=most)
        else:
            del self.months
        if Guard.EXTENSION_REQUEST not in step.guards:
            del self.grounds
        if Guard.EXTENSION_REQUEST in step.guards and case.job_offers:
            self.job_offer_id.choices = [
                (j.id, _l("%(post)s at %(employer)s, from %(date)s", post=j.post,
                          employer=j.employer, date=LazyDate(j.start_date)))
                for j in reversed(case.job_offers)]
        else:
            del self.job_offer_id

    def fill_defaults(self, case: Case, today: date) -> None:
        """The values a fresh step page starts from: today, and for an extension the length
        asked (or the policy's) and the latest job offer."""
        if "on" in self:
            self.on.data = today
        if "months" in self:
            asked = case.extension_months_requested if Guard.EXTENSION_GRANT in \
                self.step.guards else None
            self.months.data = min(asked or case.stay_extension_months,
                                   case.stay_extension_months)
        if "job_offer_id" in self:
            self.job_offer_id.data = case.job_offers[-1].id

    def step_data(self) -> StepData:
        def value(name: str):
            return self[name].data if name in self else None
        return StepData(on=value("on"), visa_number=value("visa_number"),
                        visa_valid_until=value("visa_valid_until"), months=value("months"),
                        grounds=value("grounds"), job_offer_id=value("job_offer_id"))

    @property
    def answers(self) -> list[tuple[str, object]]:
        """(label, value as typed) of every field the step asked for, for the page that
        shows them before the step is confirmed."""
        shown = []
        for name in ("on", "visa_number", "visa_valid_until", "months", "grounds",
                     "job_offer_id", "reason"):
            if name not in self:
                continue
            field = self[name]
            value = field.data
            if isinstance(value, date):
                value = LazyDate(value)
            elif name == "job_offer_id":
                value = dict(field.choices).get(value, value)
            shown.append((field.label.text, value))
        return shown


class TakeForm(VersionedForm):
    submit = SubmitField(_l("Assign to me"))


class ReassignForm(VersionedForm):
    assignee = SelectField(_l("Assign to"), coerce=int, validators=[
        InputRequired(_l("Choose a caseworker."))])
    submit = SubmitField(_l("Reassign"))


def _id_and_version(value: object) -> tuple[int, int]:
    """``"42:7"`` (case 42 as the page showed it, at version 7) as ``(42, 7)``."""
    if isinstance(value, tuple):
        return value
    case_id, _, version = str(value).partition(":")
    parsed = int(case_id), int(version)
    if not all(0 < n <= DB_INT_MAX for n in parsed):
        raise ValueError(value)
    return parsed


class BulkReassignForm(BaseForm):
    case_ids = SelectMultipleField(_l("Cases"), coerce=int, choices=[], validate_choice=False,
                                   validators=[DataRequired(_l("Tick at least one case."))])
    # Each listed case's version as the page showed it (hidden), so that a case someone
    # changed since is named and left alone rather than reassigned unseen.
    shown = SelectMultipleField(coerce=_id_and_version, choices=[], validate_choice=False)
    assignee = SelectField(_l("Assign the ticked cases to"), coerce=int, validators=[
        InputRequired(_l("Choose a caseworker."))])
    submit = SubmitField(_l("Reassign ticked cases"))


class ApproveInLineForm(BaseForm):
    """The confirmation of approving the first cases in the waiting line: each case as the
    page named it (hidden id:version), so one changed since is left in line, not approved
    unseen."""

    shown = SelectMultipleField(coerce=_id_and_version, choices=[], validate_choice=False,
                                # Not DataRequired: it would hide why a value sent could
                                # not be read behind "none named".
                                validators=[InputRequired(_l(
                                    "No case was named to approve; open the waiting line "
                                    "again."))])
    submit = SubmitField(_l("Approve these cases"))


SORT_CHOICES = tuple(choices_of([
    ("newest", _l("Newest first")),
    ("oldest", _l("Oldest first")),
    ("submitted_desc", _l("Submission date, latest first")),
    ("submitted_asc", _l("Submission date, earliest first")),
    ("next_deadline", _l("Next deadline, soonest first")),
    ("updated_desc", _l("Last change, latest first")),
    ("reference", _l("Reference")),
    ("waiting", _l("Place in the waiting line")),
]))


_SCHEME_FILTER_CHOICES = tuple(choices_of(
    [("", _l("Any scheme")), *((s.value, s.short_label) for s in Scheme)]))
_STATUS_FILTER_CHOICES = (*choices_of([("", _l("Any status"))]), *STATUS_CHOICES)


class QueueFilterForm(BaseForm):
    """The filters of every work queue; read from the query string (no CSRF: it changes
    nothing)."""

    class Meta:
        csrf = False

    FILTER_FIELDS = ("q", "scheme", "status", "assignee", "nationality", "submitted_from",
                     "submitted_to", "sort")

    q = StringField(_l("Search"), filters=[none_if_blank],
                    validators=[Optional(), Length(max=100)],
                    description=_l("Reference, name (Latin or Chinese, partial), passport or "
                                   "HKID."))
    # The selects' choices are set by __init__.
    scheme = SelectField(_l("Scheme"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    assignee = SelectField(_l("Assignee"), coerce=lambda v: int(v) if v else None,
                           validators=[Optional()])
    nationality = SelectField(_l("Nationality"), validators=[Optional()])
    submitted_from = DateField(_l("Submitted from"), validators=[Optional()])
    submitted_to = DateField(_l("Submitted to"), validators=[Optional()])
    sort = SelectField(_l("Sort"), default="newest", validators=[Optional()])

    def __init__(self, *args, assignees=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Tuples, rendered and validated from per-process caches (core.forms.CachedSelect,
        # SelectField); choices given to a field's constructor become a new list per form.
        self.scheme.choices = _SCHEME_FILTER_CHOICES
        self.status.choices = _STATUS_FILTER_CHOICES
        self.sort.choices = SORT_CHOICES
        self.nationality.choices = countries_after(_l("Any nationality"))
        self.assignee.choices = assignee_choices(assignees, anyone=True)

    def validate_submitted_to(self, field) -> None:
        start: date | None = self.submitted_from.data
        if field.data and start and field.data < start:
            raise ValidationError(_l("The end date is before the start date."))


class CorrectDateForm(VersionedForm):
    """Correct one of the case's dates: which (``services.correctable_dates``), to what, why."""

    which = SelectField(_l("Date to correct"), validators=[
        InputRequired(_l("Choose the date to correct."))])
    corrected = DateField(_l("Corrected date"), validators=[
        InputRequired(_l("Enter the corrected date as YYYY-MM-DD."))])
    reason = TextAreaField(_l("Reason for the correction"), filters=[none_if_blank],
                           validators=[DataRequired(_l("Give a reason for the correction.")),
                                       Length(max=500)])
    submit = SubmitField(_l("Correct the date"))

    def __init__(self, *args, dates=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.which.choices = [(d.key, _l("%(what)s (now %(date)s)", what=d.label,
                                         date=LazyDate(d.value))) for d in dates]


class JobOfferForm(VersionedForm):
    employer = StringField(_l("Employer"), filters=[strip], validators=[
        DataRequired(_l("Enter the employer.")), Length(max=200)])
    post = StringField(_l("Post"), filters=[strip], validators=[
        DataRequired(_l("Enter the post.")), Length(max=200)])
    salary = DecimalField(_l("Monthly salary in HKD"), places=2, validators=[
        InputRequired(_l("Enter the monthly salary.")), MONTHLY_SALARY])
    start_date = DateField(_l("Start date"), validators=[
        InputRequired(_l("Enter the start date as YYYY-MM-DD."))])
    offered_on = DateField(_l("Date of the offer"), validators=[
        InputRequired(_l("Enter the date of the offer as YYYY-MM-DD."))])
    submit = SubmitField(_l("Record job offer"))


# How much of a note its choice in "Corrects an earlier note" shows.
NOTE_EXCERPT_LENGTH = 60


def _note_id(value) -> int | None:
    """The chosen note's id, or None: not a correction."""
    return None if value in (None, "") else int(value)


def note_choices(notes: list[CaseNote]) -> list[SelectChoice]:
    """The notes a new note may correct, each by its time, author and first words."""
    def excerpt(text: str) -> str:
        words = " ".join(text.split())
        return words if len(words) <= NOTE_EXCERPT_LENGTH else words[:NOTE_EXCERPT_LENGTH] + "…"

    return choices_of([("", _l("No, a new note")), *(
        (note.id, _l("%(when)s, %(author)s: %(start)s", when=format_datetime(note.written_at),
                     author=note.author.full_name, start=excerpt(note.text)))
        for note in notes)])


class NoteForm(BaseForm):
    """A note on the case. No version: a note changes nothing on the case, so neither it nor
    a colleague's form goes stale. Its rules (not blank, its length, which note it may
    correct) are ``services.add_note``'s, which says what is wrong on the case page."""

    text = TextAreaField(_l("Note"), render_kw={"rows": 5, "maxlength": NOTE_LENGTH},
                         description=_l("Up to %(most)s characters, kept as written with your "
                                        "name and the time; never edited or deleted. Notes are "
                                        "searched here, with the history's “Search notes” "
                                        "box, not by the case search.",
                                        most=LazyNumber(NOTE_LENGTH)))
    # Not checked against the list: a note corrected or of another case since the page was
    # shown is refused by the service, in words.
    corrects = wtforms.SelectField(_l("Corrects an earlier note"), coerce=_note_id,
                                   validate_choice=False, choices=[],
                                   description=_l("The note corrected stays as it was, marked "
                                                  "as corrected by this one."))
    submit = SubmitField(_l("Add note"))

    def __init__(self, *args, notes: list[CaseNote] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.corrects.choices = note_choices(list(notes))


class HistoryFilterForm(BaseForm):
    """The search of the case page's notes, read from the query string (no CSRF: it changes
    nothing). Which entries are shown (``show=notes``: the notes alone) is a plain link."""

    class Meta:
        csrf = False

    q = StringField(_l("Search notes"), id="note-search", filters=[none_if_blank],
                    validators=[Optional(), Length(max=100)],
                    description=_l("Finds this case's notes that contain the text, in capitals "
                                   "or not."))


class SearchForm(BaseForm):
    """The search of every case (the header's box and the results page), read from the query
    string (no CSRF: it changes nothing). What a query may be is ``search.Terms.read``'s."""

    class Meta:
        csrf = False

    q = StringField(_l("Search all cases"), id="search-q",
                    validators=[Length(max=100)],
                    description=_l("A reference, or an applicant's or dependant's name (Latin or "
                                   "Chinese, in part), passport or HKID number, or an "
                                   "applicant's email address or phone number. Notes are "
                                   "searched on each case's page, not here."))
class SaveFilterForm(BaseForm):
    """Keep the queue's filters as shown under a name (``query``: the page's query string)."""

    name = StringField(_l("Name for these filters"), filters=[strip], validators=[
        DataRequired(_l("Give these filters a name.")),
        Length(max=SAVED_FILTER_NAME_LENGTH)])
    query = StringField(widget=HiddenInput(), validators=[Length(max=1000)])
    submit = SubmitField(_l("Save these filters"))
