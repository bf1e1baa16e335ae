"""The pieces every CSV export is made of (core/export.py), one table each."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from backoffice.core.export import (
    ascii_name,
    content_disposition,
    csv_country,
    csv_date,
    csv_instant,
    csv_response,
    download_name,
)
from backoffice.core.i18n import force_language

AT = datetime(2026, 12, 1, 16, 5, 42, tzinfo=UTC)  # 00:05 on 2 December in Hong Kong


@pytest.mark.parametrize(("value", "shown"), [
    (None, ""),
    (datetime(2026, 12, 1, 23, 59, 59, 999_999, tzinfo=UTC), "2026-12-02 07:59:59"),
    (datetime(2026, 12, 1, 16, 0, tzinfo=UTC), "2026-12-02 00:00:00"),  # midnight in HK
    (datetime(2026, 12, 1, 15, 59, 59, 500_000, tzinfo=UTC), "2026-12-01 23:59:59"),
    (datetime(2026, 12, 1, 23, 59, 59, 999_999), "2026-12-02 07:59:59"),  # naive means UTC
])
def test_an_instant_is_hong_kong_time_to_the_second(value, shown):
    assert csv_instant(value) == shown


@pytest.mark.parametrize(("value", "shown"), [(None, ""), (date(2026, 3, 2), "2026-03-02")])
def test_a_date_is_iso(value, shown):
    assert csv_date(value) == shown


@pytest.mark.parametrize(("code", "language", "shown"), [
    ("CA", "en", "Canada"), ("CA", "zh_Hant_HK", "加拿大"), ("LA", "en", "Laos"),
    ("XX", "en", "XX"),  # not a country (an old row): the code, never an error
    (None, "en", ""), ("", "en", ""),
])
def test_a_country_is_named_in_the_readers_language(app, code, language, shown):
    with app.test_request_context(), force_language(language):
        assert csv_country(code) == shown


@pytest.mark.parametrize(("parts", "name", "ascii"), [
    (("cases", "all", "QMAS", "under_review", "q_chan"),
     "cases-all-QMAS-under_review-q_chan-2026-12-02T0005.csv", None),
    (("cases", "all", None, "", "q_chan"), "cases-all-q_chan-2026-12-02T0005.csv", None),
    (("cases", "mine", "q_陳大文"), "cases-mine-q_陳大文-2026-12-02T0005.csv",
     "cases-mine-q-2026-12-02T0005.csv"),
    (("cases", "all", "q_陳 Chan"), "cases-all-q_陳_Chan-2026-12-02T0005.csv",
     "cases-all-q_Chan-2026-12-02T0005.csv"),
    (("x", "q_../../etc/passwd"), "x-q_etc_passwd-2026-12-02T0005.csv", None),
    (("x", 'q_a"; filename=evil.exe'), "x-q_a_filename_evil_exe-2026-12-02T0005.csv", None),
    (("x", "q_a\r\nb\x00c"), "x-q_a_b_c-2026-12-02T0005.csv", None),
    (("x", "q_\u202eexe.txt"), "x-q_exe_txt-2026-12-02T0005.csv", None),  # no direction marks
    (("x", "q_" + "y" * 60), f"x-q_{'y' * 38}-2026-12-02T0005.csv", None),
    (("x", "q_🐉"), "x-q-2026-12-02T0005.csv", None),  # an emoji is not a letter
])
def test_a_download_name_keeps_letters_digits_dashes_and_underscores(parts, name, ascii):
    assert download_name(*parts, at=AT) == name
    assert ascii_name(name) == (ascii or name)


def test_a_download_name_fits_a_file_system_however_long_its_parts():
    name = download_name("cases", *(f"p{n}_{'陳' * 50}" for n in range(10)), at=AT)
    stem = name.removesuffix("-2026-12-02T0005.csv")
    assert len(stem.encode()) <= 150
    assert stem.startswith("cases-p0_陳") and not stem.endswith(("-", "_"))
    assert ascii_name(name) == "cases-p0-p1-2026-12-02T0005.csv"


def test_the_disposition_has_an_ascii_name_and_a_utf8_one():
    assert content_disposition("cases-mine-q_陳-2026-12-02T0005.csv") == (
        'attachment; filename="cases-mine-q-2026-12-02T0005.csv"; '
        "filename*=UTF-8''cases-mine-q_%E9%99%B3-2026-12-02T0005.csv")


def test_the_response_streams_in_chunks_after_one_byte_order_mark(app):
    rows = ([str(n), "陳美玲" * 20] for n in range(5000))
    with app.test_request_context():
        response = csv_response(rows, "big-2026-12-02T0005.csv")
        chunks = list(response.response)
    assert len(chunks) > 3  # sent while the rows are still being read
    body = "".join(chunks)
    assert body.startswith("\ufeff0,") and body.count("\ufeff") == 1
    assert response.content_type == "text/csv; charset=utf-8"
    read = list(csv.reader(io.StringIO(body.encode().decode("utf-8-sig"), newline="")))
    assert len(read) == 5000 and read[-1] == ["4999", "陳美玲" * 20]
