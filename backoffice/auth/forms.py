"""Forms for sign-in, password change and account administration."""

from __future__ import annotations

from datetime import date

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    StringField,
    SubmitField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from backoffice.auth.models import Role, SecurityEventKind
from backoffice.auth.services import (
    PASSWORD_MAX_LENGTH,
    UNKNOWN_LANGUAGE,
    email_problem,
    password_problem,
)
from backoffice.core.forms import BaseForm, SelectField, choices_of, none_if_blank
from backoffice.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, language_choices
from backoffice.core.i18n import lazy_gettext as _l

# Labels are lazy: each select shows them in the reader's language.
ROLE_CHOICES = choices_of((role.value, role.label) for role in Role)
KIND_CHOICES = choices_of([("", _l("Any event")),
                           *((k.value, k.label) for k in SecurityEventKind)])
# Each language by its own name, as the header's switcher offers it.
LANGUAGE_CHOICES = choices_of(language_choices())
CHOOSING_HINT = _l("At least 12 characters and not one of the most common passwords. A short "
                   "sentence is easy to remember.")


def _password_rules(_form, field) -> None:
    problem = password_problem(field.data or "")
    if problem:
        # A plain string: a form's errors are escaped when shown, a lazy string would not be.
        raise ValidationError(str(problem))


def _email_rules(_form, field) -> None:
    # The service's own rule, so the form and `flask create-user` accept the same addresses.
    problem = email_problem(field.data or "")
    if problem:
        raise ValidationError(str(problem))


def _known_language(_form, field) -> None:
    if field.data not in LANGUAGES:
        raise ValidationError(str(UNKNOWN_LANGUAGE))


def _language_field(label, default: str | None = None) -> SelectField:
    # The choice is checked by _known_language, with a sentence that says what to do, rather
    # than by WTForms' own "Not a valid choice."
    return SelectField(label, choices=LANGUAGE_CHOICES, default=default,
                       validate_choice=False, validators=[_known_language],
                       description=_l("Pages, emails and notifications are in this language."))


class LoginForm(BaseForm):
    email = EmailField(_l("Email address"), validators=[
        InputRequired(_l("Enter your email address.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[
        InputRequired(_l("Enter your password.")), Length(max=PASSWORD_MAX_LENGTH)])
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(_l("Current password"), validators=[
        InputRequired(_l("Enter your current password."))])
    new_password = PasswordField(_l("New password"), validators=[
        InputRequired(_l("Enter a new password.")), _password_rules],
        description=CHOOSING_HINT)
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        InputRequired(_l("Repeat the new password.")),
        EqualTo("new_password", _l("The two new passwords do not match."))])
    submit = SubmitField(_l("Change password"))


class LanguageForm(BaseForm):
    """The language an account reads the back office in (its own page, or an admin's)."""

    language = _language_field(_l("Language"))
    submit = SubmitField(_l("Save language"))


class CreateUserForm(BaseForm):
    full_name = StringField(_l("Full name"), validators=[
        InputRequired(_l("Enter the person's full name.")), Length(max=200)])
    email = EmailField(_l("Email address"), validators=[
        InputRequired(_l("Enter an email address.")),
        Length(max=254), _email_rules])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[
        InputRequired(_l("Choose a role."))])
    # Left out of a submission, English (the default), as for accounts made before.
    language = _language_field(_l("Language"), default=DEFAULT_LANGUAGE)
    password = PasswordField(_l("Initial password"), validators=[
        InputRequired(_l("Enter an initial password.")), _password_rules],
        description=_l("At least 12 characters, not a common password. Give it to the person "
                       "by a separate channel: they choose their own at first sign-in."))
    confirm = PasswordField(_l("Repeat the password"), validators=[
        InputRequired(_l("Repeat the password.")),
        EqualTo("password", _l("The two passwords do not match."))])
    submit = SubmitField(_l("Create account"))


class RoleForm(BaseForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES,
                       validators=[InputRequired(_l("Choose a role."))])
    submit = SubmitField(_l("Change role"))


class ResetPasswordForm(BaseForm):
    password = PasswordField(_l("Temporary password"), validators=[
        InputRequired(_l("Enter a temporary password.")), _password_rules],
        description=_l("At least 12 characters, not a common password. Give it to the person "
                       "by a separate channel: they choose their own at next sign-in."))
    confirm = PasswordField(_l("Repeat the temporary password"), validators=[
        InputRequired(_l("Repeat the temporary password.")),
        EqualTo("password", _l("The two passwords do not match."))])
    sure = BooleanField(_l("Yes, end their sessions and make them choose a new password"),
                        validators=[DataRequired(_l("Tick the box to confirm the reset."))])
    submit = SubmitField(_l("Reset password"))


class SecurityLogFilterForm(BaseForm):
    """The security log's filters, read from the query string (no CSRF: it changes
    nothing)."""

    class Meta:
        csrf = False

    email = StringField(_l("Account email"), filters=[none_if_blank],
                        validators=[Optional(), Length(max=254)],
                        description=_l("The whole address or a part of it."))
    kind = SelectField(_l("Event"), choices=KIND_CHOICES, validators=[Optional()])
    date_from = DateField(_l("From (HK date)"), validators=[Optional()])
    date_to = DateField(_l("To (HK date)"), validators=[Optional()])

    def validate_date_to(self, field) -> None:
        start: date | None = self.date_from.data
        if field.data and start and field.data < start:
            raise ValidationError(_l("The end date is before the start date."))


class ConfirmForm(BaseForm):
    """A form with only a CSRF token, for buttons that change state."""

    submit = SubmitField(_l("Confirm"))
