"""The form helpers every form shares."""

from __future__ import annotations

import pytest
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from backoffice.core.forms import (
    WTFORMS_HTML_PARAMS,
    BaseForm,
    SelectField,
    choices_of,
    html_attributes,
)


@pytest.mark.parametrize("attributes", [
    {},
    {"name": "q", "id": "q", "class_": "form-control"},
    {"checked": True, "readonly": False, "name": "x"},
    {"aria_describedby": "a-hint a-error", "data_case_id": 7, "aria_invalid": "true"},
    {"value": 'O\'Brien "Bob" <b>&</b>'},
    {"value": Markup('already "safe" <b>markup</b>')},
    {"value": "陳大文", "lang": "zh-Hant"},
    {"for_": "family_name", "class__": "x"},
    {"value": 0, "maxlength": 200, "min": None},
])
def test_attributes_are_written_exactly_as_wtforms_writes_them(attributes):
    assert html_attributes(**attributes) == WTFORMS_HTML_PARAMS(**attributes)
    assert isinstance(html_attributes(**attributes), Markup)


class _Form(BaseForm):
    class Meta:
        csrf = False

    name = StringField("Family name", validators=[DataRequired(), Length(max=80)])
    born = DateField("Date of birth")
    note = TextAreaField("Note")
    married = BooleanField("Married")
    relation = SelectField("Relation",
                           choices=choices_of([("spouse", "Spouse"), ("child", 'Child "<18"')]))
    save = SubmitField("Save")


@pytest.mark.parametrize(("field", "expected"), [
    ("name", '<input id="name" maxlength="80" name="name" required type="text" '
             'value="&lt;script&gt;">'),
    ("born", '<input id="born" name="born" type="date" value="">'),
    ("note", '<textarea id="note" name="note">\r\n</textarea>'),
    ("married", '<input checked id="married" name="married" type="checkbox" value="y">'),
    ("relation", '<select id="relation" name="relation"><option value="spouse">Spouse</option>'
                 '<option value="child" selected>Child &#34;&lt;18&#34;</option></select>'),
    ("save", '<input id="save" name="save" type="submit" value="Save">'),
])
def test_fields_render_the_same_markup_through_the_fast_writer(app, field, expected):
    with app.test_request_context():
        form = _Form(data={"name": "<script>", "married": True, "relation": "child"})
        assert str(form[field]()) == expected
        assert str(form[field].label()) == f'<label for="{field}">{form[field].label.text}</label>'


def _select(choices, data):
    class Form(BaseForm):
        class Meta:
            csrf = False

        pick = SelectField("Pick")

    form = Form(data={"pick": data})
    form.pick.choices = choices
    return str(form.pick())


@pytest.mark.parametrize(("first", "second", "expected_second"), [
    # the same tuple again, another value chosen: the cached options, the new selection
    ((("a", "A"), ("b", "B")), None,
     '<option value="a">A</option><option value="b" selected>B</option>'),
    # a list changed in place between renders: the new options, not the cached ones
    ([("a", "A")], [("a", "A"), ("c", "C <&>")],
     '<option value="a">A</option><option value="c" selected>C &lt;&amp;&gt;</option>'),
])
def test_a_cached_select_shows_the_current_options_and_choice(app, first, second,
                                                              expected_second):
    with app.test_request_context():
        assert _select(first, "a").startswith('<select id="pick" name="pick">'
                                              '<option value="a" selected>A</option>')
        if second is None:
            second = first
        else:
            first.clear()
            first.extend(second)
            second = first
        chosen = "b" if isinstance(second, tuple) else "c"
        expected = f'<select id="pick" name="pick">{expected_second}</select>'
        assert _select(second, chosen) == expected


def _validates(choices, sent: str, coerce=str) -> bool:
    class Form(BaseForm):
        class Meta:
            csrf = False

        pick = SelectField("Pick", coerce=coerce)

    form = Form(formdata=MultiDict({"pick": sent}))
    form.pick.choices = choices
    return form.validate()


_TUPLE = (SelectChoice(value="", label="Any"), SelectChoice(value="7", label="Seven"))
_OTHER_TUPLE = (SelectChoice(value="8", label="Eight"),)


# (choices, what was sent, coercion, valid): a tuple's allowed values are kept per tuple and
# per coercion, so a second form, another tuple or another coercion is judged afresh.
@pytest.mark.parametrize(("choices", "sent", "coerce", "valid"), [
    (_TUPLE, "7", str, True),
    (_TUPLE, "7", str, True),  # again: from the cache
    (_TUPLE, "8", str, False),
    (_OTHER_TUPLE, "8", str, True),
    (_OTHER_TUPLE, "7", str, False),
    (_TUPLE, "7", int, True),
    (_TUPLE, "x", int, False),
    ([("7", "Seven")], "7", str, True),  # a list: read every time
    ([("7", "Seven")], "9", str, False),
])
def test_a_select_accepts_only_its_own_choices(app, choices, sent, coerce, valid):
    with app.test_request_context():
        assert _validates(choices, sent, coerce) is valid
