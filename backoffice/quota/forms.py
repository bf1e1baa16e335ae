"""Forms of the quota dashboard: the year picker and setting a year's limit."""

from __future__ import annotations

import re

from wtforms import HiddenField, IntegerField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, StopValidation

from backoffice.core.forms import BaseForm, none_if_blank
from backoffice.core.i18n import lazy_gettext
from backoffice.quota.services import FIRST_YEAR, LAST_YEAR

MAX_LIMIT = 1_000_000
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


class WholeNumberField(IntegerField):
    """An integer typed in ASCII digits (an optional minus), with a message that says what to
    type; anything else ("12.5", "1e3", "four") is an error, never a silent guess."""

    def __init__(self, *args, not_a_number: str = lazy_gettext("Enter a whole number."),
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.not_a_number = not_a_number

    def process_formdata(self, valuelist) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip()
        if not _WHOLE_NUMBER.fullmatch(text) or len(text) > 12:
            self.data = None
            raise ValueError(str(self.not_a_number))
        self.data = int(text)

    def pre_validate(self, form) -> None:
        # Unreadable input: say so once, not once more for every range rule after it.
        if self.process_errors:
            raise StopValidation()


class PeriodVersionField(HiddenField):
    """The year the form was rendered for and that year's ``limit_version`` then (0: not set
    yet), as ``"2026:3"``; its data is ``(2026, 3)``, or None when the form carries none (a
    client that does not send it is not checked). Unreadable text is an error."""

    _TEXT = re.compile(r"([0-9]{4}):([0-9]{1,9})")

    def process_formdata(self, valuelist) -> None:
        text = valuelist[0].strip() if valuelist else ""
        if not text:
            self.data = None
            return
        match = self._TEXT.fullmatch(text)
        if match is None:
            self.data = None
            raise ValueError(str(lazy_gettext(
                "The form could not be read; reload the page and try again.")))
        self.data = (int(match[1]), int(match[2]))

    def _value(self) -> str:
        return f"{self.data[0]}:{self.data[1]}" if self.data else ""

    def version_for(self, year: int) -> int | None:
        """The version to check a change of ``year`` against: the one the form was rendered
        with when it was rendered for that year, else None (a year typed in was never
        shown, so there is nothing it could be stale against)."""
        return self.data[1] if self.data and self.data[0] == year else None


_YEAR_NOT_A_NUMBER = lazy_gettext("Enter the year as four digits, e.g. 2026.")
_YEAR_RANGE = lazy_gettext("Choose a year between %(first)s and %(last)s.",
                           first=FIRST_YEAR, last=LAST_YEAR)


class YearForm(BaseForm):
    """The year picker; read from the query string (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    year = WholeNumberField(lazy_gettext("Year"), not_a_number=_YEAR_NOT_A_NUMBER,
                            validators=[Optional(), NumberRange(
                                min=FIRST_YEAR, max=LAST_YEAR, message=_YEAR_RANGE)])


class LimitForm(BaseForm):
    """Set or change a year's limit. A blank limit means no limit (the quota is suspended)."""

    year = WholeNumberField(lazy_gettext("Year"), not_a_number=_YEAR_NOT_A_NUMBER,
                            validators=[InputRequired(lazy_gettext("Enter the year.")),
                                        NumberRange(min=FIRST_YEAR, max=LAST_YEAR,
                                                    message=_YEAR_RANGE)])
    limit = WholeNumberField(
        lazy_gettext("Limit (places)"),
        not_a_number=lazy_gettext("Enter the limit as a whole number of places, e.g. 4000, "
                                  "or leave it blank for no limit."),
        validators=[Optional(), NumberRange(
            min=0, max=MAX_LIMIT,
            message=lazy_gettext("Enter a limit between 0 and %(max)s places, or leave it "
                                 "blank for no limit.", max=f"{MAX_LIMIT:,}"))],
        description=lazy_gettext("Leave blank for no limit (the quota is suspended for the "
                                 "year; usage is still counted)."))
    note = TextAreaField(
        lazy_gettext("Note"), filters=[none_if_blank],
        validators=[Optional(), Length(
            max=500, message=lazy_gettext("Keep the note to %(max)s characters.", max=500))],
        description=lazy_gettext("Optional: why the limit is set or changed (e.g. the policy "
                                 "address)."))
    version = PeriodVersionField()
    submit = SubmitField(lazy_gettext("Save the limit"))
