"""Forms people can use without seeing them: every control has a label; errors are listed in
a summary at the top that takes the focus and links to each field, and stand beside each
field, which is marked invalid and described by its error.

These read the HTML the server sends; the browser side (the summary really taking the focus,
its links moving the focus, axe) is in tests/e2e.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from backoffice.auth.models import Role
from backoffice.cases.schemes import CaseStatus, Scheme
from tests.cases.factories import make_case

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(self._texts()).split())

    def _texts(self):
        yield from self.text_parts
        for child in self.children:
            yield from child._texts()

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class Page(HTMLParser):
    """Just enough of a DOM: elements with their attributes, text and parents."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.root = Element("#document", {})
        self._open = self.root
        self.feed(html)
        self.by_id = {e.attrs["id"]: e for e in self.root.iter() if "id" in e.attrs}

    def handle_starttag(self, tag, attrs) -> None:
        element = Element(tag, {k: (v if v is not None else "") for k, v in attrs},
                          parent=self._open)
        self._open.children.append(element)
        if tag not in VOID:
            self._open = element

    def handle_endtag(self, tag) -> None:
        node = self._open
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self._open = node.parent

    def handle_data(self, data) -> None:
        self._open.text_parts.append(data)

    def find_all(self, tag: str) -> list[Element]:
        return [e for e in self.root.iter() if e.tag == tag]

    def controls(self) -> list[Element]:
        """Every control a person fills in or chooses (not hidden fields, not buttons)."""
        return [e for e in self.root.iter()
                if (e.tag == "input" and e.attrs.get("type") not in
                    {"hidden", "submit", "button", "reset"})
                or e.tag in {"select", "textarea"}]

    def label_of(self, control: Element) -> str | None:
        if control.attrs.get("aria-label"):
            return control.attrs["aria-label"]
        if control.attrs.get("aria-labelledby"):
            return " ".join(self.by_id[i].text for i in control.attrs["aria-labelledby"].split())
        labels = [e for e in self.find_all("label")
                  if e.attrs.get("for") and e.attrs["for"] == control.attrs.get("id")]
        labels += [a for a in control.ancestors() if a.tag == "label"]
        return labels[0].text if labels else None


def page(response) -> Page:
    return Page(response.get_data(as_text=True))


# --- Every control has a label -------------------------------------------------------------

@pytest.fixture
def a_case(db, make_user):
    """A case in stay (so the case page shows every form) and its caseworker."""
    caseworker = make_user(Role.CASEWORKER)
    return make_case(caseworker, Scheme.GEP_PRO, CaseStatus.IN_STAY), caseworker


PAGES = {
    None: ["/login"],
    Role.CASEWORKER: ["/cases/", "/cases/queue/unassigned", "/cases/new", "/cases/{id}",
                      "/cases/{id}/edit", "/account/password"],
    Role.SUPERVISOR: ["/cases/queue/all", "/cases/{id}", "/quota/"],
    Role.ADMIN: ["/admin/users/new"],
}


@pytest.mark.parametrize(("role", "address"), [(r, a) for r, pages in PAGES.items()
                                               for a in pages])
def test_every_form_control_has_a_label_of_its_own(client, login, make_user, a_case, role,
                                                  address):
    case, caseworker = a_case
    if role is Role.CASEWORKER:
        login(caseworker)
    elif role is not None:
        login(make_user(role))
    html = page(client.get(address.format(id=case.id)))
    controls = html.controls()
    assert controls, f"no form controls on {address}"
    unlabelled = [f"<{c.tag} {c.attrs}>" for c in controls if not html.label_of(c)]
    assert unlabelled == [], f"controls without a label on {address}"


# Every HTML page a person can open, by who opens it.
ALL_PAGES = {
    **PAGES,
    Role.CASEWORKER: [*PAGES[Role.CASEWORKER], "/cases/due-soon", "/cases/calendar",
                      "/notifications/", "/notifications/case/{id}"],
    Role.SUPERVISOR: [*PAGES[Role.SUPERVISOR], "/cases/due-soon?scope=office",
                      "/notifications/failed", "/notifications/worker"],
    Role.ADMIN: [*PAGES[Role.ADMIN], "/admin/users", "/admin/security-log"],
}


@pytest.mark.parametrize(("role", "address"), [(r, a) for r, pages in ALL_PAGES.items()
                                               for a in pages])
def test_no_two_elements_share_an_id(client, login, make_user, a_case, role, address):
    # Labels, error-summary links and aria-describedby point at ids: a shared one sends a
    # screen reader (or a click on the summary) to the wrong control.
    case, caseworker = a_case
    if role is Role.CASEWORKER:
        login(caseworker)
    elif role is not None:
        login(make_user(role))
    response = client.get(address.format(id=case.id))
    assert response.status_code == 200, address
    ids = [e.attrs["id"] for e in page(response).root.iter() if "id" in e.attrs]
    assert sorted({i for i in ids if ids.count(i) > 1}) == [], f"ids used twice on {address}"


# --- Errors: a summary at the top, and beside each field ---------------------------------------

def summary_of(html: Page) -> Element:
    (summary,) = [e for e in html.find_all("div") if e.attrs.get("id") == "error-summary"]
    return summary


def test_an_invalid_form_lists_its_errors_at_the_top_and_beside_each_field(
        client, as_role):
    as_role(Role.CASEWORKER)
    response = client.post_form("/cases/new", {"scheme": "QMAS", "submitted_on": "2026-03-01",
                                               "programme": "", "email": "not-an-email"})
    assert response.status_code == 422
    html = page(response)

    summary = summary_of(html)
    # Announced: an alert that takes the focus when the page loads (static/app.js).
    assert summary.attrs["role"] == "alert"
    assert summary.attrs["tabindex"] == "-1"
    assert "data-focus-on-load" in summary.attrs
    assert html.by_id[summary.attrs["aria-labelledby"]].text == "There is a problem"
    # It comes before the form.
    form = next(a for a in html.by_id["family_name"].ancestors() if a.tag == "form")
    order = [e for e in html.root.iter() if e is summary or e is form]
    assert order == [summary, form]

    links = [a for a in summary.iter() if a.tag == "a"]
    expected = {
        "family_name": "Enter the family name.",
        "given_names": "Enter the given names.",
        "date_of_birth": "Enter the date of birth as YYYY-MM-DD.",
        "nationality": "Choose the nationality.",
        "passport_number": "Enter the passport number.",
        "email": "Enter a valid email address.",
    }
    assert [a.attrs["href"] for a in links] == [f"#{name}" for name in expected]
    for a, (name, message) in zip(links, expected.items(), strict=True):
        label = html.label_of(html.by_id[name])
        assert a.text == f"{label}: {message}"

        control = html.by_id[name]
        assert control.attrs.get("aria-invalid") == "true", name
        described_by = control.attrs["aria-describedby"].split()
        assert f"{name}-error" in described_by, name
        assert html.by_id[f"{name}-error"].text == message
    # A field's hint stays in its description next to the error.
    assert "hkid-hint" in html.by_id["hkid"].attrs.get("aria-describedby", "")
    # Fields without errors are not marked.
    assert "aria-invalid" not in html.by_id["submitted_on"].attrs
    assert "aria-invalid" not in html.by_id["scheme"].attrs


def test_a_checkbox_with_an_error_is_marked_and_described_too(client, as_role):
    as_role(Role.CASEWORKER)
    response = client.post_form("/cases/new", {"scheme": "QMAS", "programme": "",
                                               "email_consent": "y\x01"})
    assert response.status_code == 422
    html = page(response)
    consent = html.by_id["email_consent"]
    assert consent.attrs.get("aria-invalid") == "true"
    assert consent.attrs["aria-describedby"] == "email_consent-error"
    message = "Remove the invisible control characters from this field."
    assert html.by_id["email_consent-error"].text == message
    assert "#email_consent" in [a.attrs["href"] for a in summary_of(html).iter() if a.tag == "a"]


def test_a_refusal_on_the_case_page_takes_the_focus(client, as_role):
    caseworker = as_role(Role.CASEWORKER)
    case = make_case(caseworker, Scheme.GEP_ENT, nationality="VN")
    response = client.post_form(f"/cases/{case.id}/step/submit", {"version": case.version},
                                token_from=f"/cases/{case.id}")
    assert response.status_code == 422
    alert = page(response).by_id["case-error"]
    assert alert.attrs["role"] == "alert"
    assert alert.attrs["tabindex"] == "-1"
    assert "data-focus-on-load" in alert.attrs
    assert alert.text.startswith("This application cannot be accepted: Nationals of Vietnam (VN)")


def test_every_page_loads_the_script_that_moves_the_focus(client):
    scripts = [s.attrs.get("src", "") for s in page(client.get("/login")).find_all("script")]
    assert any(src.endswith("/app.js") for src in scripts)
    response = client.get(next(s for s in scripts if s.endswith("/app.js")))
    assert response.status_code == 200
    source = response.get_data(as_text=True)
    assert "[data-focus-on-load]" in source
    assert ".error-summary a[href^='#']" in source


# Filters read from the address: the page is shown again with the fault marked on the field.
@pytest.mark.parametrize(("role", "address", "control", "message"), [
    (Role.SUPERVISOR, "/cases/queue/all?submitted_from=2026-03-02&submitted_to=2026-03-01",
     "submitted_to", "The end date is before the start date."),
    (Role.SUPERVISOR, "/cases/queue/all?submitted_from=yesterday",
     "submitted_from", "Not a valid date value."),
    (Role.SUPERVISOR, "/quota/?year=20x6", "pick-year",
     "Enter the year as four digits, e.g. 2026."),
])
def test_a_bad_filter_marks_its_field_and_describes_the_fault(client, as_role, role, address,
                                                             control, message):
    as_role(role)
    response = client.get(address)
    assert response.status_code == 422
    html = page(response)
    field = html.by_id[control]
    assert field.attrs.get("aria-invalid") == "true"
    (described_by,) = field.attrs["aria-describedby"].split()
    assert html.by_id[described_by].text.startswith(message)
