"""Every letter rendered for real, in English, in Chinese and in both, and read back from the
PDF: it says who, which case, what was decided and the dates that matter, each as its
language writes them, in fonts that are embedded (a Chinese letter in a CJK font, not empty
boxes), and nothing it needs is fetched from anywhere.

The letters' data come from real cases (tests/letters/conftest.py), made once for the module;
each letter is rendered once per language (a PDF takes a fraction of a second) and the tests
read those. What a PDF says does not depend on the database: the first backend only.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError

from backoffice.extensions import db as _db
from backoffice.letters import render
from backoffice.letters.kinds import LetterKind
from backoffice.letters.render import (
    BOTH,
    LETTER_LANGUAGES,
    LocalOnlyFetcher,
    letter_filename,
    letter_html,
    render_letter,
)
from tests.cases import factories
from tests.conftest import clean_tables
from tests.letters.conftest import EXTENSION_REFUSAL_REASON, data_for, new_actor, open_quota

pytestmark = pytest.mark.one_backend

EN, ZH = "en", "zh_Hant_HK"
K = LetterKind
TEMPLATES = Path(render.__file__).parent / "templates" / "letters"


def squeezed(text: str) -> str:
    """Text without its white space: a PDF breaks lines (and spaces justified English) where
    the page needs, so words are compared without it."""
    return "".join(text.split())


@dataclass(frozen=True)
class Pdf:
    """A rendered letter as a reader gets it: the text of each page and the fonts embedded."""

    pages: list[str]
    fonts: frozenset[str]

    @property
    def text(self) -> str:
        return squeezed("".join(self.pages))


def embedded_fonts(reader: PdfReader) -> frozenset[str]:
    """The names of the fonts the pages use whose font file is in the PDF (for a composite
    font, its descendant's descriptor holds the file)."""
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor")
            if descriptor is not None and any(
                    key in descriptor.get_object()
                    for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                names.add(str(described["/BaseFont"]))
    return frozenset(names)


def read(pdf: bytes) -> Pdf:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    return Pdf([page.extract_text() for page in reader.pages], embedded_fonts(reader))


@pytest.fixture(scope="module")
def letters(app) -> dict[LetterKind, dict]:
    """The data of each kind of letter, from a case in the state it follows."""
    with app.app_context():
        clean_tables()
        factories.reset_identities()
        open_quota(new_actor("quota-setter@example.org"))
        actor = new_actor()
        made = {kind: data_for(kind, actor) for kind in LetterKind}
        _db.session.rollback()
        clean_tables()
        _db.session.remove()
    return made


@pytest.fixture(scope="module")
def pdfs(app, letters) -> dict[tuple[LetterKind, str], Pdf]:
    """Each letter rendered once in each language, read back."""
    with app.app_context():
        return {(kind, language): read(render_letter(kind, language, data))
                for kind, data in letters.items() for language in LETTER_LANGUAGES}


# The day each letter is written (conftest.LETTER_CASES), as each language writes it.
LETTER_DATES = {
    K.ACKNOWLEDGEMENT: {EN: "3 March 2026", ZH: "2026年3月3日"},
    K.DOCUMENTS_REQUEST: {EN: "16 March 2026", ZH: "2026年3月16日"},
    K.APPROVAL: {EN: "17 March 2026", ZH: "2026年3月17日"},
    K.REFUSAL: {EN: "17 March 2026", ZH: "2026年3月17日"},
    K.EXTENSION_GRANTED: {EN: "10 March 2027", ZH: "2027年3月10日"},
    K.EXTENSION_REFUSED: {EN: "10 March 2027", ZH: "2027年3月10日"},
}
# Every letter names the applicant (the Chinese name too) and the office's city; each
# language has its own salutation, which the other never has.
COMMON = {EN: ["CHAN Mei Ling", "陳美玲", "Dear CHAN Mei Ling,", "Hong Kong"],
          ZH: ["陳美玲台鑒：", "CHAN Mei Ling", "香港"]}
SALUTATION = {EN: "Dear", ZH: "台鑒"}
# What each letter tells, in each language: its dates, the documents, the terms, the ground.
SAYS = {
    K.ACKNOWLEDGEMENT: {
        EN: ["receipt of your application under the Quality Migrant Admission Scheme on "
             "2 March 2026"],
        ZH: ["已於2026年3月2日收到閣下根據「優秀人才入境計劃」提交的申請"]},
    K.DOCUMENTS_REQUEST: {
        EN: ["Degree certificates", "Certificates of each degree claimed, with transcripts.",
             "Proof of relationship (CHAN Ka Ho)", "on or before 13 April 2026"],
        ZH: ["學位證書", "所申報各學位的證書及成績單。", "關係證明（CHAN Ka Ho）",
             "請於2026年4月13日或之前提交上述文件"]},
    K.APPROVAL: {
        EN: ["was approved on 16 March 2026",
             "allowed to stay in Hong Kong for initially 12 months, and can extend your stay "
             "after securing a job offer in the first year",
             "bring your spouse and unmarried dependent children under the age of 18",
             "WONG Siu Ming (黃小明) Spouse 9 January 1988", "CHAN Ka Ho Child 1 September 2015",
             "a Hong Kong identity card within 30 days of your arrival"],
        ZH: ["已於2026年3月16日獲得批准",
             "閣下獲准首次在港逗留12個月，並可在首年內獲得聘用後延長逗留期限",
             "攜同配偶及18歲以下的未婚受養子女來港",
             "黃小明（WONG Siu Ming） 配偶 1988年1月9日", "CHAN Ka Ho 子女 2015年9月1日",
             "須於抵港後30日內申請香港身份證"]},
    K.REFUSAL: {
        EN: ["was refused on 16 March 2026",
             "The applicant is 17 on 2 Mar 2026; QMAS requires 18 or over."],
        ZH: ["已於2026年3月16日不獲批准",
             "申請人於2026年3月2日為17歲；優才計劃規定申請人須年滿18歲或以上。"]},
    K.EXTENSION_GRANTED: {
        EN: ["was approved on 9 March 2027",
             "Your stay has been extended by 24 months, from 16 March 2027",
             "until 16 March 2029"],
        ZH: ["已於2027年3月9日獲得批准", "閣下的逗留期限已延長24個月（原定於2027年3月16日屆滿）",
             "現獲准在港逗留至2029年3月16日"]},
    K.EXTENSION_REFUSED: {
        EN: ["was refused on 9 March 2027", EXTENSION_REFUSAL_REASON,
             "which ends on 16 March 2027", "leave Hong Kong on or before 16 March 2027"],
        ZH: ["已於2027年3月9日不獲批准", EXTENSION_REFUSAL_REASON, "該期限於2027年3月16日屆滿",
             "閣下須於2027年3月16日或之前離開香港"]},
}
# What a letter must not say: a dependant removed before the approval was not approved.
NEVER = {K.APPROVAL: ["Ka Yan"]}


def languages_of(language: str) -> tuple[str, ...]:
    return (ZH, EN) if language == BOTH else (language,)


@pytest.mark.parametrize("language", LETTER_LANGUAGES)
@pytest.mark.parametrize("kind", list(LetterKind))
def test_each_letter_says_its_facts_as_its_language_writes_them(pdfs, letters, kind, language):
    pdf = pdfs[kind, language]
    expected = [letters[kind]["reference"]]
    for code in languages_of(language):
        expected += [*COMMON[code], LETTER_DATES[kind][code], *SAYS[kind][code]]
    assert [words for words in expected if squeezed(words) not in pdf.text] == []
    assert [words for words in NEVER.get(kind, []) if squeezed(words) in pdf.text] == []
    for code, word in SALUTATION.items():
        assert (word in pdf.text) == (code in languages_of(language)), code
    # Every letter has Chinese in it (the office's name, the applicant's): in a CJK font
    # embedded in the file, so it shows on a machine that has none.
    assert [name for name in pdf.fonts if "CJK" in name], pdf.fonts


@pytest.mark.parametrize("kind", list(LetterKind))
def test_both_languages_are_the_chinese_letter_then_the_english_one(pdfs, kind):
    assert pdfs[kind, BOTH].pages == pdfs[kind, ZH].pages + pdfs[kind, EN].pages
    assert "台鑒" in pdfs[kind, BOTH].pages[0]


@pytest.mark.parametrize("kind", list(LetterKind))
def test_a_letter_is_the_same_rendered_again_from_its_data_read_back_as_json(app, letters,
                                                                              pdfs, kind):
    stored = json.loads(json.dumps(letters[kind]))
    assert stored == letters[kind]
    with app.app_context():
        assert read(render_letter(kind, BOTH, stored)).pages == pdfs[kind, BOTH].pages


@pytest.mark.parametrize("kind", list(LetterKind))
@pytest.mark.parametrize("language", [EN, ZH])
def test_every_letter_has_a_template_in_each_language_on_the_shared_layout(kind, language):
    template = TEMPLATES / f"{kind.value}.{language}.html"
    assert template.read_text().startswith(
        f'{{% extends "letters/_letter.{language}.html" %}}')
    assert (TEMPLATES / f"_letter.{language}.html").read_text().count(
        '{% extends "letters/_letter.html" %}') == 1


def test_no_template_names_anything_to_fetch():
    fetching = re.compile(r"url\(|https?://|@import|<link|<img|<script|\bsrc=", re.I)
    assert {path.name: fetching.findall(path.read_text())
            for path in TEMPLATES.glob("*.html") if fetching.search(path.read_text())} == {}


@pytest.mark.parametrize("url", [
    "https://example.invalid/logo.png",
    "http://127.0.0.1:9/letter.css",
    "ftp://example.invalid/font.otf",
    "file:///etc/hostname",
    f"file://{TEMPLATES.parents[2]}/cases/models.py",
])
def test_the_fetcher_refuses_every_url_outside_the_package(url):
    with pytest.raises(FatalURLFetchingError):
        LocalOnlyFetcher().fetch(url)


def test_the_fetcher_gives_data_and_the_packages_own_files():
    assert LocalOnlyFetcher().fetch("data:text/plain,letters").read() == b"letters"
    own = TEMPLATES / "_letter.html"
    assert LocalOnlyFetcher().fetch(own.as_uri()).read() == own.read_bytes()


def test_a_url_to_the_internet_stops_the_rendering_rather_than_being_fetched():
    html = HTML(string='<p>Letter</p><img src="https://example.invalid/logo.png">',
                url_fetcher=LocalOnlyFetcher())
    with pytest.raises(FatalURLFetchingError):
        html.render()


@pytest.mark.parametrize(("kind", "language", "data", "problem"), [
    (K.APPROVAL, "fr", {"format": 1, "kind": "approval"}, "one of en, zh_Hant_HK"),
    (K.APPROVAL, EN, {"format": 1, "kind": "refusal"}, "not a 'approval' letter"),
    (K.APPROVAL, EN, {"format": 99, "kind": "approval"}, "in format 99"),
])
def test_a_letter_is_rendered_only_from_its_own_kind_of_data(kind, language, data, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        letter_html(kind, language, data)


@pytest.mark.parametrize(("language", "name"), [
    (EN, "QMAS-2026-000001-approval-en.pdf"),
    (BOTH, "QMAS-2026-000001-approval-both.pdf"),
])
def test_a_letters_file_is_named_by_its_reference_kind_and_language(language, name):
    assert letter_filename(K.APPROVAL, language, {"reference": "QMAS-2026-000001"}) == name
