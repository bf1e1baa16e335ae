"""The form helpers every form shares."""

from __future__ import annotations

import pytest
from markupsafe import Markup
from wtforms import BooleanField, DateField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from backoffice.core.forms import WTFORMS_HTML_PARAMS, BaseForm, SelectField, html_attributes


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
    relation = SelectField("Relation", choices=[("spouse", "Spouse"), ("child", 'Child "<18"')])
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
