"""Table answers as files (each table's ``/export``): CSV starts with a UTF-8 byte order mark unless
``bom=false`` (its own ETag either way), XLSX cells are typed (booleans, numbers, dates and date-times as
such, formulas as text), and a client asking for ``application/octet-stream`` gets the same bytes so
labelled."""

import codecs
import csv
import io
from datetime import datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy import update
from sqlmodel import col

from tests.stats.test_stats import settle
from tests.training.test_compliance import OCTOBER_STARTS, attended, training
from yijing.access import Role
from yijing.db import session_scope
from yijing.org.models import Site
from yijing.training.models import AttendanceStatus
from yijing_api.tables import OCTET_STREAM, XLSX_TYPE

OVERVIEW = "/api/v1/stats/overview"
COMPLIANCE = "/api/v1/trainings/compliance"
VOLUNTEERS = f"{COMPLIANCE}/volunteers"
OVERVIEW_FILE, COMPLIANCE_FILE, VOLUNTEERS_FILE = (
    f"{path}/export" for path in (OVERVIEW, COMPLIANCE, VOLUNTEERS)
)
OCTOBER = {"month": "2023-10"}


def sheet_rows(response) -> list[dict]:
    """An XLSX answer's cells, by column name."""
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows())
    return [{name.value: cell for name, cell in zip(header, row, strict=True)} for row in rows]


async def test_csv_starts_with_a_bom_unless_asked_not_to(client, world):
    officer = world.headers(Role.OFFICER)
    params = {"period": "2023-10", "format": "csv"}
    with_bom = await client.get(OVERVIEW_FILE, params=params, headers=officer)
    without = await client.get(OVERVIEW_FILE, params=params | {"bom": "false"}, headers=officer)
    for response in (with_bom, without):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert with_bom.content.startswith(codecs.BOM_UTF8)
    assert without.content.startswith(b"period,metric,label_zh,")
    assert with_bom.content == codecs.BOM_UTF8 + without.content  # nothing else differs
    lines = list(csv.DictReader(io.StringIO(with_bom.content.decode("utf-8-sig"))))
    assert any(line["label_zh"] == "警情" for line in lines), lines
    assert with_bom.headers["content-disposition"] == 'attachment; filename="overview-2023-10.csv"'
    by_default = await client.get(OVERVIEW_FILE, params={"period": "2023-10"}, headers=officer)
    assert by_default.content == with_bom.content  # CSV is the export's default
    assert (await client.get(OVERVIEW_FILE, params=params | {"bom": "true"}, headers=officer)).content == (
        with_bom.content
    )


async def test_a_file_is_labelled_octet_stream_for_a_client_that_asks_only_for_that(client, world):
    officer = world.headers(Role.OFFICER)
    for table_format, media_type in (("csv", "text/csv; charset=utf-8"), ("xlsx", XLSX_TYPE)):
        params = {"period": "2023-10", "format": table_format}
        named = await client.get(OVERVIEW_FILE, params=params, headers=officer)
        as_bytes = await client.get(OVERVIEW_FILE, params=params, headers=officer | {"Accept": OCTET_STREAM})
        assert named.headers["content-type"] == media_type
        assert as_bytes.headers["content-type"] == OCTET_STREAM
        assert as_bytes.headers["vary"] == "Accept"
        if table_format == "csv":
            assert as_bytes.content == named.content
        else:  # an XLSX holds its time of writing: compare the cells
            assert [[cell.value for cell in row.values()] for row in sheet_rows(as_bytes)] == [
                [cell.value for cell in row.values()] for row in sheet_rows(named)
            ]
    # The JSON operation answers JSON whatever the client accepts.
    json_answer = await client.get(
        OVERVIEW, params={"period": "2023-10"}, headers=officer | {"Accept": "text/csv"}
    )
    assert json_answer.headers["content-type"] == "application/json"
    assert json_answer.json()["period"]["label"] == "2023-10"


async def test_with_and_without_the_bom_are_tagged_apart(client, world):
    officer = world.headers(Role.OFFICER)
    params = {"period": "2023-10", "format": "csv"}
    with_bom = await client.get(OVERVIEW_FILE, params=params, headers=officer)
    without = await client.get(OVERVIEW_FILE, params=params | {"bom": "false"}, headers=officer)
    assert with_bom.headers["etag"] != without.headers["etag"]
    again = await client.get(OVERVIEW_FILE, params=params, headers=officer)
    assert again.headers["etag"] == with_bom.headers["etag"]  # the same figures: the same tag
    current = await client.get(
        OVERVIEW_FILE, params=params, headers=officer | {"If-None-Match": with_bom.headers["etag"]}
    )
    assert (current.status_code, current.content) == (304, b"")
    # A copy without the BOM is not current for one who asks with it, nor the other way round.
    other_copy = await client.get(
        OVERVIEW_FILE, params=params, headers=officer | {"If-None-Match": without.headers["etag"]}
    )
    assert other_copy.status_code == 200
    assert other_copy.content.startswith(codecs.BOM_UTF8)
    other_copy = await client.get(
        OVERVIEW_FILE,
        params=params | {"bom": "false"},
        headers=officer | {"If-None-Match": with_bom.headers["etag"]},
    )
    assert other_copy.status_code == 200
    assert not other_copy.content.startswith(codecs.BOM_UTF8)
    # XLSX holds no BOM: the parameter changes neither its bytes nor its tag.
    plain = await client.get(OVERVIEW_FILE, params=params | {"format": "xlsx"}, headers=officer)
    told = await client.get(
        OVERVIEW_FILE, params=params | {"format": "xlsx", "bom": "false"}, headers=officer
    )
    assert told.headers["etag"] == plain.headers["etag"] != with_bom.headers["etag"]
    assert not told.content.startswith(codecs.BOM_UTF8)
    # The JSON has its own tag, and its own 304.
    as_json = await client.get(OVERVIEW, params={"period": "2023-10"}, headers=officer)
    assert as_json.headers["etag"] not in {with_bom.headers["etag"], plain.headers["etag"]}
    current = await client.get(
        OVERVIEW, params={"period": "2023-10"}, headers=officer | {"If-None-Match": as_json.headers["etag"]}
    )
    assert current.status_code == 304


async def test_training_compliance_csv_starts_with_a_bom_unless_asked_not_to(client, world):
    officer = world.headers(Role.OFFICER)
    for path in (COMPLIANCE_FILE, VOLUNTEERS_FILE):
        with_bom = await client.get(path, params=OCTOBER | {"format": "csv"}, headers=officer)
        without = await client.get(path, params=OCTOBER | {"format": "csv", "bom": "false"}, headers=officer)
        assert with_bom.status_code == without.status_code == 200, (path, with_bom.text, without.text)
        assert with_bom.headers["content-type"] == "text/csv; charset=utf-8"
        assert without.content.startswith(b"site_id,") or without.content.startswith(b"volunteer_id,")
        assert with_bom.content == codecs.BOM_UTF8 + without.content, path
        lines = list(csv.DictReader(io.StringIO(with_bom.content.decode("utf-8-sig"))))
        assert [line["site_name"] for line in lines] == [world.own.site.name], path


async def test_a_bom_that_is_not_true_or_false_is_refused(client, world):
    officer = world.headers(Role.OFFICER)
    for path, params in (
        (OVERVIEW_FILE, {"period": "2023-10", "format": "csv"}),
        (COMPLIANCE_FILE, OCTOBER | {"format": "csv"}),
        (VOLUNTEERS_FILE, OCTOBER | {"format": "csv"}),
    ):
        for bom in ("maybe", "1", "yes", ""):
            response = await client.get(path, params=params | {"bom": bom}, headers=officer)
            assert response.status_code == 422, (path, bom, response.text)
            assert "bom" in response.text, (path, bom)
    # The parameter opens nothing: a volunteer still may not read the figures.
    volunteer = await client.get(
        OVERVIEW_FILE,
        params={"period": "2023-10", "format": "csv", "bom": "false"},
        headers=world.headers(Role.VOLUNTEER),
    )
    assert volunteer.status_code == 403


async def test_xlsx_cells_are_typed_and_formulas_are_text(client, world, session_factory):
    held = training(world, OCTOBER_STARTS + timedelta(days=10))
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Site).where(col(Site.id) == world.own.site.id).values(name="=HYPERLINK(1)")
        )
        session.add(held)
        await session.flush()
        assert world.own.volunteer is not None
        session.add(attended(held, world.own.volunteer, AttendanceStatus.PRESENT))
    officer = world.headers(Role.OFFICER)

    [volunteer] = sheet_rows(
        await client.get(VOLUNTEERS_FILE, params=OCTOBER | {"format": "xlsx"}, headers=officer)
    )
    assert (volunteer["trained"].data_type, volunteer["trained"].value) == ("b", True)
    assert (volunteer["trainings_attended"].data_type, volunteer["trainings_attended"].value) == ("n", 1)
    assert (volunteer["excused"].data_type, volunteer["excused"].value) == ("n", 0)
    assert volunteer["volunteer_id"].value == str(world.own.volunteer.id)
    # A spreadsheet would run it: it is written as text, with a leading quote.
    assert (volunteer["site_name"].data_type, volunteer["site_name"].value) == ("s", "'=HYPERLINK(1)")

    [site] = sheet_rows(
        await client.get(COMPLIANCE_FILE, params=OCTOBER | {"format": "xlsx"}, headers=officer)
    )
    assert site["site_name"].value == "'=HYPERLINK(1)"
    assert [(site[name].data_type, site[name].value) for name in ("volunteers", "trained", "rate")] == [
        ("n", 1),
        ("n", 1),
        ("n", 1),
    ]
    as_csv = await client.get(COMPLIANCE_FILE, params=OCTOBER | {"format": "csv"}, headers=officer)
    [line] = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert (line["site_name"], line["rate"]) == ("'=HYPERLINK(1)", "1.0")  # CSV: the JSON's text

    listed = await client.get(
        VOLUNTEERS_FILE, params=OCTOBER | {"format": "csv", "bom": "false"}, headers=officer
    )
    [line] = list(csv.DictReader(io.StringIO(listed.content.decode())))
    assert (line["trained"], line["trainings_attended"]) == ("true", "1")


async def test_xlsx_dates_are_dates(client, world):
    params = {"metric": "volunteers_active", "from": "2023-10-01", "to": "2023-10-03", "granularity": "day"}
    officer = world.headers(Role.OFFICER)
    points = sheet_rows(
        await client.get("/api/v1/stats/series/export", params=params | {"format": "xlsx"}, headers=officer)
    )
    assert [point["first_day"].value for point in points] == [datetime(2023, 10, day) for day in (1, 2, 3)]
    for point in points:
        for name in ("first_day", "last_day"):
            assert (point[name].data_type, point[name].number_format) == ("d", "yyyy-mm-dd"), name
        assert point["metric"].value == "volunteers_active"
    as_csv = await client.get(
        "/api/v1/stats/series/export", params=params | {"format": "csv"}, headers=officer
    )
    lines = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [line["first_day"] for line in lines] == ["2023-10-01", "2023-10-02", "2023-10-03"]


async def test_xlsx_date_times_are_date_times_with_their_offset_shown(
    client, world, session_factory, settings, redis, run_worker
):
    await settle(session_factory, settings, redis, run_worker)
    officer = world.headers(Role.OFFICER)
    answer = (await client.get("/api/v1/stats/meta", headers=officer)).json()
    computed = {
        source["source"]: datetime.fromisoformat(source["last_computed_at"])
        for source in answer["sources"]
        if source["last_computed_at"] is not None
    }
    assert computed, answer
    rows = sheet_rows(
        await client.get("/api/v1/stats/meta/export", params={"format": "xlsx"}, headers=officer)
    )
    for row in rows:
        cell = row["last_computed_at"]
        if row["source"].value not in computed:
            assert cell.value is None
            continue
        instant = computed[row["source"].value]
        assert cell.data_type == "d"
        # The wall time of the offset the answer gives, that offset shown beside it.
        assert abs(cell.value - instant.replace(tzinfo=None)) < timedelta(milliseconds=1)
        assert cell.number_format == 'yyyy-mm-dd hh:mm:ss"+00:00"', cell.number_format
    as_csv = await client.get("/api/v1/stats/meta/export", params={"format": "csv"}, headers=officer)
    lines = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert {
        datetime.fromisoformat(line["last_computed_at"]) for line in lines if line["last_computed_at"]
    } == set(computed.values())


async def test_a_control_character_xml_cannot_hold_is_marked_not_fatal(client, world, session_factory):
    async with session_scope(session_factory) as session:
        await session.execute(
            update(Site).where(col(Site.id) == world.own.site.id).values(name="夜市\x07二区")
        )
    officer = world.headers(Role.OFFICER)
    [site] = sheet_rows(
        await client.get(COMPLIANCE_FILE, params=OCTOBER | {"format": "xlsx"}, headers=officer)
    )
    assert site["site_name"].value == "夜市\ufffd二区"
    as_csv = await client.get(COMPLIANCE_FILE, params=OCTOBER | {"format": "csv"}, headers=officer)
    [line] = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert line["site_name"] == "夜市\x07二区"  # CSV holds any text: as the JSON has it
