"""The base form every form in the app derives from."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import wtforms
import wtforms.widgets.core
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import Select
from wtforms.widgets.core import clean_key

from backoffice.core.identity import country_choices

# NUL and the other C0 control characters (tab, newline and carriage return are fine in text).
# PostgreSQL refuses NUL in text and none of them belong in a name or a note.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# WTForms' own writer, kept so the tests can prove ours writes the same text.
WTFORMS_HTML_PARAMS = wtforms.widgets.core.html_params


def html_attributes(**kwargs) -> Markup:
    """The attributes of a tag, exactly as WTForms' ``html_params`` writes them.

    WTForms builds each attribute through ``Markup.format`` (a pure-Python string formatter);
    every label, input and select on a page goes through it, and on the case page that cost
    more than the page's own SQL. This writes the same text with one escape per value.
    """
    parts = []
    for key, value in sorted(kwargs.items()):
        if value is True:
            parts.append(clean_key(key))
        elif value is not False:
            text = str(escape(value)).replace('"', "&quot;")
            parts.append(f'{clean_key(key)}="{text}"')
    written = " ".join(parts)
    return Markup(written)  # noqa: S704  # nosec B704  # every value was escaped above


def use_fast_attributes() -> None:
    """Point WTForms' widgets and labels at :func:`html_attributes` (same output, faster).

    Inputs and buttons look the function up on their class, selects, text areas and labels
    on the module, so both are set. Called once by the app factory.
    """
    wtforms.widgets.core.html_params = html_attributes
    wtforms.widgets.html_params = html_attributes
    wtforms.widgets.core.Input.html_params = staticmethod(html_attributes)
    wtforms.widgets.core.Button.html_params = staticmethod(html_attributes)


def strip(value):
    """A WTForms filter: surrounding spaces removed from text, anything else as it is."""
    return value.strip() if isinstance(value, str) else value


def none_if_blank(value):
    """A WTForms filter: stripped text, or None when nothing is left."""
    return strip(value) or None


def choices_of(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """``(value, label)`` pairs as the options of a select (WTForms 3.3 retires bare tuples)."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]


class CatalogueTranslations:
    """WTForms' own messages ("This field is required.") from this app's catalogue, in the
    language of the request (core/wtforms_messages.py lists them for extraction).

    Not Flask-WTF's bundled WTForms catalogues: for zh_Hant_HK they fall back to Simplified
    Chinese. WTForms formats the result itself (``message % {"max": 254}``), so the
    translation is returned unformatted: flask_babel's ``ngettext`` would apply ``%(num)d``.
    """

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


_CATALOGUE = CatalogueTranslations()


class BaseForm(FlaskForm):
    """FlaskForm plus one rule for every field: no control characters in what was sent;
    and WTForms' own messages in the reader's language.

    Checked here, once, so no form can forget it and no such byte reaches the database.
    """

    class Meta:
        def get_translations(self, form) -> CatalogueTranslations:
            return _CATALOGUE

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if any(isinstance(v, str) and _CONTROL.search(v) for v in (field.raw_data or ())):
                field.errors = [*field.errors,
                                _("Remove the invisible control characters from this field.")]
                valid = False
        return valid


class CachedSelect(Select):
    """A select whose option list is rendered once per process instead of on every page.

    WTForms renders each option through several layers of escaping; for the ~250 countries
    (and the filters of every queue page) that took more time than the page's SQL.
    """

    _options: dict[tuple, Markup] = {}
    # Choices given as a tuple cannot change, so they are found again by identity without
    # re-reading every choice. The entry keeps the tuple alive, so its id is never reused.
    _by_identity: dict[tuple[int, str], tuple[tuple, Markup]] = {}
    _MAX_LISTS = 64  # a handful of lists exist; the bound only guards against surprises

    def _rendered_options(self, choices) -> Markup:
        # Labels may be lazy (translated): the same tuple renders once per language.
        identity = (id(choices), str(get_locale()))
        if isinstance(choices, tuple):
            hit = self._by_identity.get(identity)
            if hit is not None and hit[0] is choices:
                return hit[1]
        key = tuple((str(value), str(label)) for value, label, *_rest in choices)
        options = self._options.get(key)
        if options is None:
            if len(self._options) >= self._MAX_LISTS:
                self._options.clear()
            options = Markup("").join(Markup('<option value="{}">{}</option>').format(v, label)
                                      for v, label in key)
            self._options[key] = options
        if isinstance(choices, tuple):
            if len(self._by_identity) >= self._MAX_LISTS:
                self._by_identity.clear()
            self._by_identity[identity] = (choices, options)
        return options

    def __call__(self, field, **kwargs) -> Markup:
        kwargs.setdefault("id", field.id)
        if field.flags.required:
            kwargs.setdefault("required", True)
        options = self._rendered_options(field.choices)
        if field.data not in (None, ""):
            chosen = str(Markup('<option value="{}">').format(str(field.data)))
            # Both sides are already-escaped markup; only the literal " selected" is added.
            selected = str(options).replace(chosen, chosen[:-1] + " selected>", 1)
            options = Markup(selected)  # noqa: S704  # nosec B704  # both sides were escaped
        attributes = html_attributes(name=field.name, **kwargs)
        select = f"<select {attributes}>{options}</select>"
        return Markup(select)  # noqa: S704  # nosec B704  # both parts were escaped


class SelectField(wtforms.SelectField):
    """WTForms' SelectField with the cached widget and a set lookup for its choice check
    (WTForms 3.3 re-normalises every choice on each validation)."""

    widget = CachedSelect()
    # The allowed values of each tuple of choices (which cannot change) with each coercion,
    # found again by identity: the ~250 countries were coerced on every queue page. The
    # entry keeps the tuple alive, so its id is never reused.
    _allowed_by_identity: dict[tuple[int, object], tuple[tuple, frozenset]] = {}
    _MAX_LISTS = 64

    def _allowed(self) -> frozenset:
        choices = self.choices
        key = (id(choices), self.coerce)
        if isinstance(choices, tuple):
            hit = self._allowed_by_identity.get(key)
            if hit is not None and hit[0] is choices:
                return hit[1]
        allowed = set()
        for value, *_rest in choices:
            try:
                allowed.add(self.coerce(value))
            except (TypeError, ValueError):
                continue
        allowed = frozenset(allowed)
        if isinstance(choices, tuple):
            if len(self._allowed_by_identity) >= self._MAX_LISTS:
                self._allowed_by_identity.clear()
            self._allowed_by_identity[key] = (choices, allowed)
        return allowed

    def pre_validate(self, form) -> None:
        if not self.validate_choice or self.choices is None:
            return
        if self.data not in self._allowed():
            raise ValidationError(self.gettext("Not a valid choice."))


@lru_cache(maxsize=16)
def _country_options(blank: str, locale: str) -> tuple[SelectChoice, ...]:
    return tuple(choices_of([("", blank), *country_choices(locale)]))


def country_options(blank: str) -> tuple[SelectChoice, ...]:
    """Every country, named in the reader's language and sorted in it, after a blank choice
    worded ``blank`` (a lazy string is fine): one tuple per wording and language, so the
    select renders its ~250 options once per process and language (see ``CachedSelect``)."""
    locale = str(get_locale() or "en_HK")
    return _country_options(str(blank), locale)
