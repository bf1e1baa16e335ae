"""The frame's fixed parts (style sheets, scripts, footer: ``core.templating.fixed_fragment``)
are rendered once per language and then reused, each page still showing its own language's."""

from __future__ import annotations

import pytest
from flask import template_rendered

from backoffice.core import templating

FOOTER = {"en": "Dates in Hong Kong time. Talent Admission Back Office.",
          "zh-HK": "日期以香港時間顯示。人才入境後勤系統。"}
FIXED = ("_frame_head.html", "_frame_foot.html")


@pytest.fixture
def renders(app):
    """The names of the templates rendered while the test runs, from an empty cache."""
    app.extensions.pop(templating.FIXED_FRAGMENTS, None)
    names: list[str] = []

    def record(_sender, template, **_extra) -> None:
        names.append(template.name)

    template_rendered.connect(record, app)
    yield names
    template_rendered.disconnect(record, app)


def test_each_fixed_part_is_rendered_once_per_language(client, renders):
    for language in ("en", "zh-HK", "en", "zh-HK", "en"):
        client.get("/login", headers={"Accept-Language": language})

    assert sorted(n for n in renders if n in FIXED) == sorted([*FIXED, *FIXED])
    assert renders.count("auth/login.html") == 5


@pytest.mark.parametrize("language", ["en", "zh-HK"])
def test_a_page_read_after_the_other_language_keeps_its_own_words(client, renders, language):
    other = "zh-HK" if language == "en" else "en"
    client.get("/login", headers={"Accept-Language": other})

    html = client.get("/login", headers={"Accept-Language": language}).get_data(as_text=True)

    assert FOOTER[language] in html and FOOTER[other] not in html
    assert html.index("app.css") < html.index("</head>") < html.index("app.js")
