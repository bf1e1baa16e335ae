"""The queue's rows, written in Python (cases/queue_rows.py) rather than by Jinja: every value
escaped, one cell per heading whatever the queue shows, and the row's words in the reader's
language. Both databases."""

from __future__ import annotations

from datetime import date

import pytest
from bs4 import BeautifulSoup

from backoffice.auth.models import Role
from backoffice.cases import services
from backoffice.cases.schemes import CaseStatus as S
from backoffice.cases.schemes import Scheme
from backoffice.extensions import db
from tests.cases.factories import make_case, step_data


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def row_of(page: BeautifulSoup, reference: str):
    return page.find("a", string=reference).find_parent("tr")


@pytest.mark.parametrize(("family", "given", "chinese"), [
    ("<script>alert(1)</script>", "Ann", None),
    ("O'Brien", 'Mary "May"', None),
    ("Chan", "Tai Man & Co", "<b>陳大文</b>"),
])
def test_every_value_of_a_row_is_escaped(client, as_role, family, given, chinese):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, family_name=family, given_names=given, chinese_name=chinese)
    html = client.get("/cases/queue/mine").get_data(as_text=True)
    assert "<script>" not in html and "<b>" not in html
    row = row_of(BeautifulSoup(html, "html.parser"), case.reference)
    applicant = row.find_all("td")[1]
    assert applicant.get_text(" ", strip=True).startswith(f"{family.upper()}, {given}")
    if chinese:
        assert applicant.select_one("span[lang=zh-Hant]").get_text() == chinese


@pytest.mark.parametrize(("role", "queue", "waits", "first_cells"), [
    (Role.CASEWORKER, "mine", False, 0),
    (Role.SUPERVISOR, "all", False, 1),  # the bulk reassignment box
    (Role.SUPERVISOR, "awaiting-quota", True, 2),  # and the place in line
])
def test_each_row_has_one_cell_per_heading(client, as_role, role, queue, waits, first_cells):
    me = as_role(role)
    case = make_case(me, Scheme.QMAS, S.UNDER_REVIEW)
    if waits:
        services.transition(case, "hold_for_quota", me,
                            data=step_data("hold_for_quota", date(2026, 4, 1)))
        db.session.commit()
    page = soup(client.get(f"/cases/queue/{queue}"))
    headings = page.select("thead th")
    row = row_of(page, case.reference)
    cells = row.find_all("td")
    assert len(cells) == len(headings)
    assert cells[first_cells].select_one("a.mono").get_text() == case.reference
    if first_cells:
        box = row.select_one("input[name=case_ids]")
        assert box["value"] == str(case.id)
        assert box["aria-label"] == f"Select {case.reference}"
        assert row.select_one("input[name=shown]")["value"] == f"{case.id}:{case.version}"
    if waits:
        assert cells[1].get_text(strip=True) == "1"  # first in line


def test_a_row_speaks_the_readers_language(client, as_role):
    me = as_role(Role.CASEWORKER)
    case = make_case(me, Scheme.GEP_PRO, S.SUBMITTED, nationality="JP", documents=False)
    client.post_form("/language", {"language": "zh_Hant_HK"}, token_from="/cases/")
    row = row_of(soup(client.get("/cases/queue/mine")), case.reference)
    words = row.get_text(" ", strip=True)
    assert "日本" in words and "已遞交" in words
    assert "欠交" in row.select_one(".documents-missing").get_text()
    assert "Submitted" not in words and "missing" not in words
