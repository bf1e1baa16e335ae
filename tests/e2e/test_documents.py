"""Journey 10: a caseworker gathers a QMAS applicant's evidence, rejects a poor scan with a
reason, asks the applicant for what is missing (a letter, an email in the applicant's
language, a "documents due" deadline and its reminder), receives it, approves, and downloads
the approval letter, in the applicant's language."""

from __future__ import annotations

import io
from datetime import timedelta
from email import policy
from email.parser import BytesParser

from playwright.sync_api import Page, expect
from pypdf import PdfReader

from backoffice.auth.models import Role
from backoffice.cases.schemes import CaseStatus, Scheme
from backoffice.core.dates import hk_today, utcnow
from tests.cases.factories import make_case
from tests.documents import samples
from tests.e2e.test_journeys import account, flash, take_step, wait_for


def line(page: Page, key: str):
    return page.locator(f"#checklist > li[data-item='{key}']")


def upload(page: Page, key: str, name: str, data: bytes) -> None:
    item = line(page, key)
    item.locator("summary").click()
    item.get_by_label("File", exact=True).set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": data})
    item.get_by_role("button", name="Upload", exact=True).click()
    flash(page, "File uploaded; the document is received.")


def test_10_evidence_is_gathered_a_scan_rejected_the_rest_requested_and_the_case_approved(
        live_server, browse, make_person, scene, camera, tmp_path):
    caseworker = make_person(Role.CASEWORKER, "Chow Ka Yan")
    today = hk_today()
    applicant_email = f"li.jingyi.{caseworker.id}@applicant.example.net"
    reference = scene(lambda: make_case(
        account(caseworker), Scheme.QMAS, CaseStatus.UNDER_REVIEW, today=today,
        now=utcnow(), submitted_on=today - timedelta(days=5), family_name="Li",
        given_names="Jingyi", chinese_name="李靜儀", nationality="CN", email=applicant_email,
        email_consent=True, language="zh_Hant_HK", documents=False).reference)

    page = browse(caseworker)
    page.get_by_role("searchbox", name="Search all cases").fill(reference)
    page.keyboard.press("Enter")
    page.get_by_role("link", name=reference).first.click()
    expect(page.locator("#documents-missing")).to_have_text("3 documents missing")
    actions = page.get_by_role("region", name="Actions")
    expect(actions.locator("[data-step='approve']")).to_contain_text(
        "3 required documents have not been received or waived")

    # 1. The passport and a degree certificate arrive by email; the caseworker uploads them.
    page.get_by_role("link", name="Open the documents").click()
    upload(page, "passport/applicant", "Li Jingyi passport.pdf", samples.blank_pdf())
    upload(page, "degree_certificates/applicant", "degree.pdf", samples.blank_pdf())
    expect(line(page, "passport/applicant")).to_have_attribute("data-state", "received")
    camera.shoot(page, "documents-received")

    # 2. The degree certificate is unreadable: rejected, with the reason, and missing again.
    degree = line(page, "degree_certificates/applicant")
    degree.locator("summary").click()
    degree.get_by_label("Reason for rejecting (the applicant is told)").fill(
        "The scan is unreadable: please send a clear copy.")
    degree.get_by_role("button", name="Reject", exact=True).click()
    flash(page, "The document is rejected; it is missing again.")
    expect(degree).to_have_attribute("data-state", "rejected")
    expect(degree).to_contain_text("The scan is unreadable: please send a clear copy.")

    # 3. What is missing is asked of the applicant, due in a week.
    due = today + timedelta(days=7)
    request = page.get_by_role("region", name="Request documents from the applicant")
    request.get_by_label("Degree certificates", exact=True).check()
    request.get_by_label("Proof of work experience", exact=True).check()
    request.get_by_label("Due by").fill(due.isoformat())
    request.get_by_role("button", name="Send the request").click()
    flash(page, "A letter is on the case and an email was sent to the applicant.")
    camera.shoot(page, "documents-requested", readme="documents")

    # The deadline is on the case, and the worker sends the request and its reminder, in
    # Chinese: the applicant reads in Chinese.
    page.get_by_role("link", name=f"Back to {reference}").click()
    deadlines = page.get_by_role("table", name="Deadlines")
    expect(deadlines.get_by_role("row").filter(has_text="Documents due")).to_contain_text("7 days")
    live_server.send_task("backoffice.notifications.tasks.plan_reminders")
    live_server.send_task("backoffice.notifications.tasks.dispatch_reminders")
    assert wait_for(lambda: len(live_server.emails_to(applicant_email)) >= 2), \
        "the request and its reminder did not reach the applicant within 30 s"
    texts = []
    for envelope in live_server.emails_to(applicant_email):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        texts.append(str(message["Subject"]) + message.get_body(
            preferencelist=("plain",)).get_content())
    assert all(reference in text and "學位證書" in text and "工作經驗證明" in text
               for text in texts), texts
    assert not any("Chow Ka Yan" in text for text in texts)  # no staff names

    # 4. Both arrive; the deadline is met, and the case can be approved.
    page.get_by_role("link", name="Open the documents").click()
    upload(page, "degree_certificates/applicant", "degree-clear.pdf", samples.blank_pdf())
    upload(page, "work_experience/applicant", "employers.pdf", samples.blank_pdf())
    expect(page.locator("#documents-summary")).to_have_text(
        "Every required document is received or waived.")
    expect(page.locator("#requests")).to_contain_text("All received")
    page.get_by_role("link", name=f"Back to {reference}").click()
    expect(page.locator("#documents-missing")).to_have_text("No required document missing")
    take_step(page, "Approve", check=[f"remaining QMAS places for {today.year}."])
    flash(page, f"{reference} moved to “Approved”.")

    # 5. The approval letter, in Chinese, downloaded from the case.
    letters = page.get_by_role("region", name="Letters to the applicant")
    with page.expect_download() as download:
        letters.get_by_role("link", name="Approval of the application").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"{reference}-approval-zh_Hant_HK.pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(saved.read_bytes())).pages)
    assert reference in text and "李靜儀" in text and "批准" in text
    camera.shoot(page, "approved-with-letters")
