"""The messages WTForms itself writes that this app's forms can show, listed so that
``pybabel extract`` puts them in our catalogue (``N_`` and ``lazy_ngettext`` only mark them:
nothing here is ever rendered).

WTForms asks the form's ``Meta.get_translations`` for them (core/forms.py), which answers
from our catalogue: Flask-WTF's bundled WTForms translations would answer zh_Hant_HK in
Simplified Chinese. The msgids must be exactly WTForms' own (wtforms 3.3: validators.py,
fields/*.py); tests/core/test_wtforms_messages.py checks that each is still written there.
"""

from __future__ import annotations

from backoffice.core.i18n import lazy_ngettext


def N_(message: str) -> str:  # the name pybabel extracts
    return message


MESSAGES = (
    # DataRequired, InputRequired
    N_("This field is required."),
    # Length with both ends
    N_("Field must be between %(min)d and %(max)d characters long."),
    # EqualTo
    N_("Field must be equal to %(other_name)s."),
    # NumberRange
    N_("Number must be at least %(min)s."),
    N_("Number must be at most %(max)s."),
    N_("Number must be between %(min)s and %(max)s."),
    # Email
    N_("Invalid email address."),
    # AnyOf, NoneOf, Regexp
    N_("Invalid value, must be one of: %(values)s."),
    N_("Invalid value, can't be any of: %(values)s."),
    N_("Invalid input."),
    # The fields' own parsing
    N_("Not a valid date value."),
    N_("Not a valid datetime value."),
    N_("Not a valid time value."),
    N_("Not a valid integer value."),
    N_("Not a valid decimal value."),
    N_("Not a valid float value."),
    N_("Not a valid choice."),
    N_("Invalid Choice: could not coerce."),
    N_("Invalid choice(s): one or more data inputs could not be coerced."),
)

# Messages with a count (never evaluated: the 0 only completes the call).
PLURAL_MESSAGES = (
    lazy_ngettext("Field must be at least %(min)d character long.",
                  "Field must be at least %(min)d characters long.", 0),
    lazy_ngettext("Field cannot be longer than %(max)d character.",
                  "Field cannot be longer than %(max)d characters.", 0),
    lazy_ngettext("Field must be exactly %(max)d character long.",
                  "Field must be exactly %(max)d characters long.", 0),
    lazy_ngettext("'%(value)s' is not a valid choice for this field.",
                  "'%(value)s' are not valid choices for this field.", 0),
)
