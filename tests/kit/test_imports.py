"""The import kit (yijing.kit.imports) with a small declaration of its own: a file's header checked at once,
a row's schema errors named by the column the uploader sees, and the result every import job answers."""

import csv
import io
from datetime import date

import pytest
from pydantic import BaseModel, Field

from yijing.kit.imports import (
    ImportColumn,
    Outcome,
    RowError,
    SheetImport,
    SheetRow,
    outcome,
    report,
    validate_rows,
)
from yijing.uploads import FileFormat, SheetLimits, UploadRefused, sheet_rows


class Rental(BaseModel):
    item: str = Field(min_length=1, max_length=20)
    site_id: int
    returned_on: date | None = None


SHEET = SheetImport(
    columns=(
        ImportColumn("item", "物品", True, "名称"),
        ImportColumn("site", "站点", True, "站点编号", field="site_id"),
        ImportColumn("returned_on", "归还日期", False, "YYYY-MM-DD"),
    ),
    schema=Rental,
    max_rows=3,
    limits=SheetLimits(rows=10, columns=8),
    rows_are="rentals",
    template_title="租借",
)


def csv_of(*rows: list[str]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode()


def refusal_code(content: bytes) -> str:
    with pytest.raises(UploadRefused) as refused:
        SHEET.read(content)
    return refused.value.extra["errors"][0]["code"]


def test_headers_are_labels_or_keys_and_rows_are_numbered_as_the_sheet_shows_them():
    rows = SHEET.read(csv_of(["物品", "SITE"], ["伞", "1"], ["", ""], ["雨衣", "2"]))
    assert rows == [SheetRow(2, {"item": "伞", "site": "1"}), SheetRow(4, {"item": "雨衣", "site": "2"})]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty"),
        (csv_of(["物品"], ["伞"]), "header"),  # a required column missing
        (csv_of(["物品", "站点", "颜色"], ["伞", "1", "红"]), "header"),  # an unknown one
        (csv_of(["物品", "站点", "item"], ["伞", "1", "伞"]), "header"),  # one named twice
        (csv_of(["物品", "站点"]), "no_rows"),
        (csv_of(["物品", "站点"], *[["伞", "1"]] * 4), "too_many_rows"),
    ],
)
def test_a_wrong_file_is_refused_as_a_whole(content, code):
    assert refusal_code(content) == code


def test_the_template_round_trips():
    filled = SHEET.template(FileFormat.CSV) + "伞,1,\r\n".encode()
    assert SHEET.read(filled) == [SheetRow(2, {"item": "伞", "site": "1"})]
    workbook = SHEET.template(FileFormat.XLSX)
    assert next(sheet_rows(workbook, SHEET.limits)) == ["物品", "站点", "归还日期"]


def test_schema_errors_name_the_column_once():
    row = SheetRow(7, {})
    errors = [RowError(7, "站点", "the station has no site named 'X'")]
    assert SHEET.validate(row, {"item": "", "site_id": None}, errors) is None
    assert [(error.row, error.column) for error in errors] == [(7, "站点"), (7, "物品")]
    assert SHEET.validate(row, {"item": "伞", "site_id": 3}, []) == Rental(item="伞", site_id=3)
    assert SHEET.label("site_id") == SHEET.label("site") == "站点"


async def test_rows_are_validated_with_progress_counting_each_row_twice():
    reported: list[tuple[int, int | None]] = []

    async def report_progress(done: int, total: int | None) -> None:
        reported.append((done, total))

    rows = [SheetRow(2, {"item": "伞"}), SheetRow(3, {})]
    valid, errors = await validate_rows(
        rows,
        lambda row: row.values["item"] if row.values else [RowError(row.number, "物品", "missing")],
        report_progress,
    )
    assert valid == [(2, "伞")]
    assert errors == [RowError(3, "物品", "missing")]
    assert reported == [(0, 4), (2, 4)]


def test_the_result_names_its_outcome_counts_and_bad_rows():
    bad = [RowError(3, "物品", "missing")]
    assert outcome([], valid_rows_kept=False) is Outcome.IMPORTED
    assert outcome(bad, valid_rows_kept=True) is Outcome.IMPORTED_VALID_ROWS
    assert outcome(bad, valid_rows_kept=False) is Outcome.REJECTED
    assert report(Outcome.REJECTED, rows=2, errors=bad, created=0) == {
        "outcome": "rejected",
        "rows": 2,
        "created": 0,
        "errors": [{"row": 3, "column": "物品", "message": "missing"}],
    }
