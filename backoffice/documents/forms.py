"""The forms of the documents page: one per action, each naming its checklist line."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from backoffice.core.forms import BaseForm
from backoffice.core.i18n import lazy_gettext as _l
from backoffice.documents.models import REASON_LENGTH

MESSAGE_LENGTH = 1000  # the longest message to the applicant beside a request's list


def none_if_blank(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else value


class LineForm(BaseForm):
    """An action on one line of the checklist (``item``: the line's key)."""

    item = HiddenField(validators=[InputRequired(_l("The form does not say which document; "
                                                    "reload the page."))])


class UploadForm(LineForm):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose the file to upload."))],
                     description=_l("PDF, JPEG or PNG."))
    received_on = DateField(_l("Received on"), validators=[
        InputRequired(_l("Enter the date the document was received."))])
    replaces = HiddenField(filters=[none_if_blank])
    submit = SubmitField(_l("Upload"))


class ReceivedForm(LineForm):
    received_on = DateField(_l("Received on"), validators=[
        InputRequired(_l("Enter the date the document was received."))])
    submit = SubmitField(_l("Mark received on paper"))


class AcceptForm(LineForm):
    submit = SubmitField(_l("Accept"))


class ReasonedForm(LineForm):
    reason = TextAreaField(_l("Reason"), filters=[none_if_blank],
                           validators=[Optional(), Length(max=REASON_LENGTH)])


class RejectForm(ReasonedForm):
    submit = SubmitField(_l("Reject"))


class WaiveForm(ReasonedForm):
    submit = SubmitField(_l("Waive"))


class WithdrawForm(BaseForm):
    reason = TextAreaField(_l("Reason for withdrawing"), filters=[none_if_blank],
                           validators=[Optional(), Length(max=REASON_LENGTH)])
    submit = SubmitField(_l("Withdraw"))


class RequestForm(BaseForm):
    items = SelectMultipleField(_l("Documents to request"), choices=[],
                                widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput(), validate_choice=False)
    due_on = DateField(_l("Due by"), validators=[
        InputRequired(_l("Enter the date the documents are due."))])
    message = TextAreaField(_l("Message to the applicant (optional)"), filters=[none_if_blank],
                            validators=[Optional(), Length(max=MESSAGE_LENGTH)])
    submit = SubmitField(_l("Send the request"))
