"""The bounded upload readers (yijing.uploads) against the hostile corpus, and against real files that must
still pass. The same files through the HTTP API, with time and memory measured, are in
tests/platform/test_hostile_uploads.py."""

import csv
import io
import time
import tracemalloc
import zipfile

import openpyxl
import pytest

from tests import hostile
from yijing import uploads
from yijing.photos import MAX_PIXELS, NotAnImage, read_photo
from yijing.uploads import SheetLimits, UploadRefused, sheet_rows
from yijing.volunteers.imports import SHEET

LIMITS = SheetLimits(rows=40_000)

HOSTILE_SHEETS = {
    "dimension-bomb-to-the-last-row": (lambda: hostile.dimension_bomb(1_048_576), "too_many_rows"),
    "cell-in-column-XFD": (hostile.far_column, "too_many_columns"),
    "zip-bomb": (lambda: hostile.zip_bomb(256), "unzipped_too_large"),
    "row-flood": (hostile.row_flood, "compression_ratio"),
    "numbered-row-flood": (lambda: hostile.row_flood(60_000, numbered=True), "too_many_rows"),
    "shared-strings-flood": (hostile.shared_strings_flood, "compression_ratio"),
    # These two against a tenth of the import's cell bound, to stay quick under tracemalloc; the API test
    # sends them at full size.
    "shared-strings-flood-under-the-ratio": (
        lambda: hostile.shared_strings_flood(60_000, varied=True),
        "too_many_strings",
    ),
    "huge-shared-string": (hostile.huge_shared_string, "unzipped_too_large"),
    "entity-expansion": (hostile.entity_expansion, "xlsx_unsafe"),
    "utf16-sheet-with-a-dtd": (lambda: hostile.entity_expansion(encoding="utf-16"), "xlsx_unsafe"),
    "too-many-parts": (lambda: hostile.many_parts(1000), "too_many_parts"),
    "large-styles-part": (hostile.large_styles, "part_too_large"),
    "cell-flood": (lambda: hostile.cell_flood(51_000), "too_many_cells"),
    "csv-column-flood": (hostile.csv_column_flood, "too_many_columns"),
    "csv-row-flood": (hostile.csv_row_flood, "too_many_rows"),
    "csv-long-line": (hostile.csv_long_line, "line_too_long"),
    "csv-long-cell": (lambda: hostile.csv_long_cell(40_000), "cell_too_long"),
    "not-a-zip": (lambda: b"PK\x03\x04" + b"\x00" * 100, "xlsx_unreadable"),
    "old-excel": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "xls"),
}


def refusal_of(content: bytes, limits: SheetLimits = LIMITS) -> dict:
    with pytest.raises(UploadRefused) as refused:
        for _ in sheet_rows(content, limits):
            pass
    assert refused.value.status == 422
    assert refused.value.code == "upload_refused"
    (error,) = refused.value.extra["errors"]
    assert error["field"] == "body.file"
    return error


@pytest.mark.parametrize("case", HOSTILE_SHEETS)
def test_a_hostile_file_is_refused_fast_with_little_memory(case):
    make, reason = HOSTILE_SHEETS[case]
    content = make()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = refusal_of(content, SheetLimits(rows=40_000, cells=50_000))
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert error["code"] == reason, error
    print(
        f"{case}: {len(content):,} bytes refused ({reason}) in {elapsed * 1000:.0f} ms, peak {peak >> 20} MiB"
    )
    # Bounds, not timings: the limits (64 MiB unzipped at most) make both small whatever the file claims.
    assert peak < 100 << 20


def test_the_declared_dimension_is_ignored():
    """The attack's own file: A1:XFD3000 declared, one cell in row 3000. It is read as what it holds: 3,000
    short rows, not 3,000 × 16,384 cells."""
    rows = list(sheet_rows(hostile.dimension_bomb(3000), LIMITS))
    assert len(rows) == 3000
    assert max(len(row) for row in rows) <= 12


def test_the_time_budget_stops_a_long_read():
    content = hostile.csv_rows_of(5_000)
    assert len(list(sheet_rows(content, LIMITS))) == 5_001
    assert refusal_of(content, SheetLimits(rows=40_000, seconds=0))["code"] == "time_budget"


def test_xlsx_reads_are_bounded_by_the_time_budget_too():
    content = xlsx_of(2_000)
    assert refusal_of(content, SheetLimits(rows=40_000, seconds=0))["code"] == "time_budget"


def xlsx_of(rows: int) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(hostile.HEADER)
    for number in range(rows):
        sheet.append(
            [f"义警{number}", "男", "13800000000", "350121199001011234", "滨河路夜市", "stall_owner"]
        )
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def test_a_full_volunteer_file_is_within_the_bounds():
    """20,000 volunteers, the most one import takes, in either format, and the XLSX template with its
    thousand pre-formatted rows: nothing a real user sends is refused."""
    rows = list(sheet_rows(xlsx_of(20_000), SHEET.limits))
    assert len(rows) == 20_001
    text = io.StringIO()
    csv.writer(text).writerows([hostile.HEADER] + [[f"义警{n}", "男"] for n in range(20_000)])
    assert len(list(sheet_rows(text.getvalue().encode(), SHEET.limits))) == 20_001
    assert next(sheet_rows(SHEET.template(uploads.FileFormat.XLSX), SHEET.limits)) == hostile.HEADER


def test_a_workbook_with_pictures_and_styles_passes():
    """Binary parts (a picture) are unzipped and counted but not parsed as XML."""
    content = xlsx_of(10)
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(output, "w") as target:
        for part in source.infolist():
            target.writestr(part, source.read(part))
        target.writestr("xl/media/image1.png", hostile.blank_png(50, 50))
    assert len(list(sheet_rows(output.getvalue(), LIMITS))) == 11


def test_a_damaged_sheet_is_refused_not_a_crash():
    content = hostile.workbook(b"<worksheet><sheetData><row r='1'><c r='A1'")
    assert refusal_of(content)["code"] == "xlsx_unreadable"


def test_a_photo_claiming_a_huge_size_is_refused_from_its_header():
    tracemalloc.start()
    try:
        with pytest.raises(NotAnImage, match="pixels"):
            read_photo(hostile.png_claiming(20_000, 20_000), strip_gps=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 << 20


def test_photos_are_bounded_at_forty_megapixels():
    assert MAX_PIXELS == 40_000_000
    with pytest.raises(NotAnImage, match="pixels"):
        read_photo(hostile.png_claiming(7_000, 7_000), strip_gps=False)  # 49 Mpx: the attack's size
    assert read_photo(hostile.blank_png(200, 100), strip_gps=False).width == 200
