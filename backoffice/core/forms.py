"""The base form every form in the app derives from."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm

# NUL and the other C0 control characters (tab, newline and carriage return are fine in text).
# PostgreSQL refuses NUL in text and none of them belong in a name or a note.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BaseForm(FlaskForm):
    """FlaskForm plus one rule for every field: no control characters in what was sent.

    Checked here, once, so no form can forget it and no such byte reaches the database.
    """

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if any(isinstance(v, str) and _CONTROL.search(v) for v in (field.raw_data or ())):
                field.errors = [*field.errors, "Remove the invisible control characters "
                                "from this field."]
                valid = False
        return valid
