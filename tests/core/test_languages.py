"""Core pieces in Traditional Chinese: WTForms' own messages from our catalogue (not
Flask-WTF's Simplified Chinese), the form helpers, the error pages and country names."""

# The Chinese strings use full-width punctuation, as the catalogue (and HK usage) has it.

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
import wtforms
from flask import render_template_string
from wtforms import DateField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from backoffice.auth.models import Role
from backoffice.core import wtforms_messages
from backoffice.core.forms import BaseForm, SelectField, choices_of, country_options
from backoffice.core.i18n import force_language
from backoffice.core.identity import country_choices, country_name
from backoffice.extensions import db as _db
from tests.cases.factories import make_case

ZH = "zh_Hant_HK"
# What Flask-WTF's bundled WTForms catalogue says for zh: Simplified Chinese.
SIMPLIFIED = ("该字段是必填字段", "字段", "无效", "日期值")


class Sample(BaseForm):
    class Meta:
        csrf = False

    name = StringField("Name", validators=[DataRequired()])
    code = StringField("Code", validators=[InputRequired(), Length(max=3)])
    born = DateField("Born")
    count = IntegerField("Count")
    kind = SelectField("Kind", choices=choices_of([("a", "A")]))


SUMMARY = ('{% from "macros/forms.html" import error_summary, field %}'
           '{{ error_summary(form) }}{{ field(form.name) }}')


def errors_in(app, language: str, data: dict) -> tuple[dict, str]:
    with app.test_request_context(method="POST", data=data), force_language(language):
        form = Sample()
        form.validate()
        return ({name: [str(e) for e in errs] for name, errs in form.errors.items()},
                unescape(render_template_string(SUMMARY, form=form)))


@pytest.mark.parametrize(("data", "field", "english", "chinese"), [
    ({}, "name", "This field is required.", "此欄必須填寫。"),
    ({"name": "x"}, "code", "This field is required.", "此欄必須填寫。"),
    ({"code": "abcd"}, "code", "Field cannot be longer than 3 characters.",
     "此欄長度不可超過3個字元。"),
    ({"born": "2026-02-30"}, "born", "Not a valid date value.", "不是有效的日期。"),
    ({"count": "NaN"}, "count", "Not a valid integer value.", "不是有效的整數。"),
    ({"kind": "z"}, "kind", "Not a valid choice.", "不是有效的選項。"),
    ({"name": "Lee\x00"}, "name", "Remove the invisible control characters from this field.",
     "請刪除此欄內看不見的控制字元。"),
])
def test_wtforms_own_messages_come_from_our_catalogue(app, data, field, english, chinese):
    errors, _page = errors_in(app, "en", data)
    assert english in errors[field]
    errors, page = errors_in(app, ZH, data)
    assert chinese in errors[field]
    assert not any(word in page for word in SIMPLIFIED)


def test_a_required_field_on_a_chinese_page_is_explained_in_traditional_chinese(app):
    _errors, page = errors_in(app, ZH, {})
    assert "出現問題" in page  # the summary's heading
    assert "Name：此欄必須填寫。" in page  # the field's label, then its error
    assert "（必須填寫）" in page
    assert "This field is required." not in page
    assert "该字段是必填字段" not in page


def test_the_sign_in_form_left_empty_is_refused_in_chinese(client):
    client.set_cookie("lang", ZH)
    page = unescape(client.post_form("/login", {}).get_data(as_text=True))
    assert "請輸入你的電郵地址。" in page and "請輸入你的密碼。" in page


def _wtforms_source() -> str:
    root = Path(wtforms.__file__).parent
    return "".join(path.read_text(encoding="utf-8") for path in root.rglob("*.py"))


def test_every_listed_message_is_still_one_wtforms_writes():
    """A WTForms upgrade that rewords a message would leave our translation unused."""
    source = re.sub(r'"\s+"', "", _wtforms_source())  # join implicitly concatenated strings
    listed = list(wtforms_messages.MESSAGES) + [
        part for message in wtforms_messages.PLURAL_MESSAGES
        for part in (message._args[0], message._args[1])]
    missing = [message for message in listed if f'"{message}"' not in source]
    assert not missing


# --- Error pages and the pager ---------------------------------------------------------------

@pytest.mark.parametrize(("url", "status", "words"), [
    ("/no-such-page", 404, ("找不到網頁", "此網址沒有網頁。", "前往你的起始頁")),
    ("/admin/users", 403, ("不獲准許", "你的角色無權存取此頁。")),
])
def test_error_pages_are_in_chinese(client, make_user, login, url, status, words):
    user = make_user(Role.CASEWORKER)
    user.language = ZH
    _db.session.commit()
    login(user)
    response = client.get(url)
    assert response.status_code == status
    page = unescape(response.get_data(as_text=True))
    assert '<html lang="zh-Hant-HK">' in page
    for text in words:
        assert text in page
    assert "Not allowed" not in page and "Not found" not in page


def test_the_pager_is_in_chinese(client, make_user, login):
    admin = make_user(Role.ADMIN)
    admin.language = ZH
    _db.session.commit()
    login(admin)
    page = unescape(client.get("/admin/users", query_string={"page": 2}).get_data(as_text=True))
    assert "第2頁" in page and "上一頁" in page and 'aria-label="分頁"' in page


# --- Country names ----------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "english", "chinese"), [
    ("GB", "United Kingdom", "英國"), ("LA", "Laos", "老撾"), ("VN", "Vietnam", "越南"),
    ("HK", "Hong Kong", "中國香港特別行政區"), ("PH", "Philippines", "菲律賓"),
])
def test_a_country_is_named_in_the_readers_language(app, code, english, chinese):
    assert country_name(code, "en_HK") == country_name(code) == english
    assert country_name(code, ZH) == chinese
    with app.test_request_context():
        with force_language(ZH):
            assert country_name(code) == chinese
            assert (code, chinese) in country_choices()
        with force_language("en"):
            assert country_name(code) == country_name(code, "en")


def test_the_country_options_are_per_language_and_cached(app):
    with app.test_request_context():
        with force_language(ZH):
            chinese = country_options("請選擇國家")
            assert country_options("請選擇國家") is chinese  # built once per language
        with force_language("en"):
            english = country_options("Choose a country")
    assert (chinese[0].value, chinese[0].label) == ("", "請選擇國家")
    assert {c.value: c.label for c in chinese}["GB"] == "英國"
    assert {c.value: c.label for c in english}["GB"] == "United Kingdom"
    assert [c.value for c in chinese[1:]] != [c.value for c in english[1:]]  # sorted per name


def test_a_case_page_names_the_nationality_in_chinese(client, make_user, login):
    worker = make_user(Role.CASEWORKER)
    worker.language = ZH
    _db.session.commit()
    case = make_case(worker, nationality="GB")
    login(worker)
    page = unescape(client.get(f"/cases/{case.id}").get_data(as_text=True))
    assert "英國（GB）" in page
    # (The dependant form's select is cases/forms.py's, cached per wording: see
    # country_options for the per-language list it is to use.)
    assert "United Kingdom (GB)" not in page
