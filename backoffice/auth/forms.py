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
from backoffice.auth.services import PASSWORD_MAX_LENGTH, email_problem, password_problem
from backoffice.core.forms import BaseForm, SelectField, choices_of, none_if_blank

ROLE_CHOICES = choices_of((role.value, role.label) for role in Role)
KIND_CHOICES = choices_of([("", "Any event"), *((k.value, k.label) for k in SecurityEventKind)])
CHOOSING_HINT = ("At least 12 characters and not one of the most common passwords. A short "
                   "sentence is easy to remember.")


def _password_rules(_form, field) -> None:
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def _email_rules(_form, field) -> None:
    # The service's own rule, so the form and `flask create-user` accept the same addresses.
    problem = email_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class LoginForm(BaseForm):
    email = EmailField("Email address", validators=[
        InputRequired("Enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[
        InputRequired("Enter your password."), Length(max=PASSWORD_MAX_LENGTH)])
    next = HiddenField()
    submit = SubmitField("Sign in")


class ChangePasswordForm(BaseForm):
    current_password = PasswordField("Current password", validators=[
        InputRequired("Enter your current password.")])
    new_password = PasswordField("New password", validators=[
        InputRequired("Enter a new password."), _password_rules],
        description=CHOOSING_HINT)
    confirm = PasswordField("Repeat the new password", validators=[
        InputRequired("Repeat the new password."),
        EqualTo("new_password", "The two new passwords do not match.")])
    submit = SubmitField("Change password")


class CreateUserForm(BaseForm):
    full_name = StringField("Full name", validators=[
        InputRequired("Enter the person's full name."), Length(max=200)])
    email = EmailField("Email address", validators=[
        InputRequired("Enter an email address."),
        Length(max=254), _email_rules])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[
        InputRequired("Choose a role.")])
    password = PasswordField("Initial password", validators=[
        InputRequired("Enter an initial password."), _password_rules],
        description="At least 12 characters, not a common password. Give it to the person by "
                    "a separate channel: they choose their own at first sign-in.")
    confirm = PasswordField("Repeat the password", validators=[
        InputRequired("Repeat the password."),
        EqualTo("password", "The two passwords do not match.")])
    submit = SubmitField("Create account")


class RoleForm(BaseForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[InputRequired("Choose a role.")])
    submit = SubmitField("Change role")


class ResetPasswordForm(BaseForm):
    password = PasswordField("Temporary password", validators=[
        InputRequired("Enter a temporary password."), _password_rules],
        description="At least 12 characters, not a common password. Give it to the person by "
                    "a separate channel: they choose their own at next sign-in.")
    confirm = PasswordField("Repeat the temporary password", validators=[
        InputRequired("Repeat the temporary password."),
        EqualTo("password", "The two passwords do not match.")])
    sure = BooleanField("Yes, end their sessions and make them choose a new password",
                        validators=[DataRequired("Tick the box to confirm the reset.")])
    submit = SubmitField("Reset password")


class SecurityLogFilterForm(BaseForm):
    """The security log's filters, read from the query string (no CSRF: it changes
    nothing)."""

    class Meta:
        csrf = False

    email = StringField("Account email", filters=[none_if_blank],
                        validators=[Optional(), Length(max=254)],
                        description="The whole address or a part of it.")
    kind = SelectField("Event", choices=KIND_CHOICES, validators=[Optional()])
    date_from = DateField("From (HK date)", validators=[Optional()])
    date_to = DateField("To (HK date)", validators=[Optional()])

    def validate_date_to(self, field) -> None:
        start: date | None = self.date_from.data
        if field.data and start and field.data < start:
            raise ValidationError("The end date is before the start date.")


class ConfirmForm(BaseForm):
    """A form with only a CSRF token, for buttons that change state."""

    submit = SubmitField("Confirm")
