"""Bulk enrolment from CSV and XLSX: checked at upload, validated row by row in a real worker, all or
nothing unless asked, idempotent when the same file comes twice."""

import csv
import io
from datetime import datetime
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from tests.db import count_rows
from tests.world import id_card_number
from yijing.access import Role
from yijing.jobs import service as jobs_service
from yijing.jobs.models import JobRun
from yijing.personal import id_card_check_code
from yijing.volunteers.jobs import IMPORT
from yijing.volunteers.models import Volunteer, VolunteerImport, VolunteerStatusChange

HEADER = ["姓名", "性别", "手机号", "身份证号", "站点", "来源", "摊位/户", "袖标号", "技能", "加入日期"]


def rows_for(world, serials, overrides: dict | None = None) -> list[list[Any]]:
    rows = []
    for serial in serials:
        row = {
            "姓名": f"林秀英{serial}",
            "性别": "女",
            "手机号": f"135{serial:08d}",
            "身份证号": id_card_number(serial),
            "站点": world.own.site.name,
            "来源": "摊位经营者",
            "摊位/户": f"B-{serial} 炒粉摊",
            "袖标号": f"GZ-{serial}",
            "技能": "急救、调解",
            "加入日期": "2023/7/15",
        }
        row |= (overrides or {}).get(serial, {})
        rows.append([row[column] for column in HEADER])
    return rows


def csv_file(rows, *, header=HEADER, encoding="utf-8", line_end="\n") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_file(rows, *, header=HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


async def upload(client, world, content: bytes, *, role=Role.OFFICER, name="名单.csv", **form):
    return await client.post(
        "/api/v1/volunteers/imports",
        files={"file": (name, content, "application/octet-stream")},
        data={
            key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in form.items()
        },
        headers=world.headers(role),
    )


async def import_and_wait(client, world, run_worker, content: bytes, **form) -> dict:
    response = await upload(client, world, content, **form)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/jobs/{response.json()['id']}"
    await run_worker()
    job = await client.get(response.headers["location"], headers=world.headers(Role.OFFICER))
    assert job.status_code == 200, job.text
    assert job.json()["status"] == "succeeded", job.json()
    return job.json()


async def station_volunteers(session_factory, world) -> list[Volunteer]:
    async with session_factory() as session:
        query = (
            select(Volunteer)
            .where(col(Volunteer.station_id) == world.own.station.id)
            .order_by(col(Volunteer.id))
        )
        return list((await session.scalars(query)).all())


@pytest.mark.parametrize(
    "encode",
    [
        lambda rows: csv_file(rows),
        lambda rows: csv_file(rows, encoding="utf-8-sig", line_end="\r\n"),  # Excel's "CSV UTF-8"
        lambda rows: csv_file(rows, encoding="gb18030", line_end="\r\n"),  # Excel's plain "CSV" in China
        xlsx_file,
    ],
    ids=["csv-utf8", "csv-utf8-bom-crlf", "csv-gb18030", "xlsx"],
)
async def test_a_file_with_chinese_text_is_imported(client, world, run_worker, session_factory, encode):
    job = await import_and_wait(client, world, run_worker, encode(rows_for(world, range(1000, 1003))))
    assert job["result"]["outcome"] == "imported"
    assert job["result"]["created"] == 3
    assert job["result"]["errors"] == []
    assert job["progress"]["done"] == job["progress"]["total"]
    imported = [v for v in await station_volunteers(session_factory, world) if v.name.startswith("林秀英")]
    assert [v.name for v in imported] == ["林秀英1000", "林秀英1001", "林秀英1002"]
    first = imported[0]
    assert first.gender == "female"
    assert first.source == "stall_operator"
    assert first.household_name == "B-1000 炒粉摊"
    assert first.skills == ["急救", "调解"]
    assert first.joined_on.isoformat() == "2023-07-15"
    assert first.phone_masked == "135****1000"
    assert first.status == "active"
    async with session_factory() as session:
        history = (
            await session.scalars(
                select(VolunteerStatusChange).where(col(VolunteerStatusChange.volunteer_id) == first.id)
            )
        ).all()
        stored = (await session.scalars(select(VolunteerImport))).one()
    assert [(entry.action, entry.to_status, entry.actor_id) for entry in history] == [
        ("import", "active", world.user(Role.OFFICER).id)
    ]
    assert stored.content_sealed is None  # the file is dropped once read


async def test_xlsx_cells_typed_by_excel_are_read_as_text(client, world, run_worker, session_factory):
    [row] = rows_for(world, [1100])
    row[2] = int(row[2])  # a phone typed as a number
    row[9] = datetime(2023, 8, 1)  # a date cell
    job = await import_and_wait(client, world, run_worker, xlsx_file([row]), name="名单.xlsx")
    assert job["result"]["created"] == 1
    [volunteer] = [v for v in await station_volunteers(session_factory, world) if v.name == "林秀英1100"]
    assert volunteer.joined_on.isoformat() == "2023-08-01"
    assert volunteer.phone_masked == "135****1100"


async def test_importing_the_same_file_twice_creates_nothing_new(client, world, run_worker, session_factory):
    content = csv_file(rows_for(world, range(1200, 1205)))
    first = await import_and_wait(client, world, run_worker, content)
    assert first["result"]["created"] == 5
    second = await import_and_wait(client, world, run_worker, content)
    assert second["result"]["outcome"] == "imported"
    assert second["result"]["created"] == 0
    assert second["result"]["skipped_existing"] == 5
    assert len(await station_volunteers(session_factory, world)) == 6  # the world's own volunteer + 5


async def test_bad_rows_are_all_reported_and_nothing_is_imported(client, world, run_worker, session_factory):
    bad_card = id_card_number(1303)[:17] + ("0" if id_card_number(1303)[17] != "0" else "1")
    rows = rows_for(
        world,
        range(1300, 1308),
        overrides={
            1301: {"站点": "不存在的站点"},
            1302: {"来源": "外星人", "手机号": "12345"},  # two problems in one row
            1303: {"身份证号": bad_card},
            1304: {"身份证号": id_card_number(1300)},  # the same person as row 2
            1305: {"袖标号": "GZ-1300"},  # row 2's badge
            1306: {"加入日期": "2023-02-30"},
        },
    )
    job = await import_and_wait(client, world, run_worker, csv_file(rows))
    result = job["result"]
    assert result["outcome"] == "rejected"
    assert result["created"] == 0
    assert result["invalid_rows"] == 6
    reported = {(error["row"], error["column"]) for error in result["errors"]}
    assert reported == {
        (3, "站点"),
        (4, "来源"),
        (4, "手机号"),
        (5, "身份证号"),
        (6, "身份证号"),
        (7, "袖标号"),
        (8, "加入日期"),
    }
    messages = {(error["row"], error["column"]): error["message"] for error in result["errors"]}
    assert "不存在的站点" in messages[(3, "站点")]
    assert "row 2" in messages[(6, "身份证号")]
    assert "row 2" in messages[(7, "袖标号")]
    assert [error["row"] for error in result["errors"]] == sorted(error["row"] for error in result["errors"])
    assert len(await station_volunteers(session_factory, world)) == 1  # only the world's own


async def test_the_valid_rows_are_imported_when_asked(client, world, run_worker, session_factory):
    rows = rows_for(world, range(1400, 1404), overrides={1401: {"性别": "不详"}})
    job = await import_and_wait(client, world, run_worker, csv_file(rows), import_valid_rows=True)
    assert job["result"]["outcome"] == "imported_valid_rows"
    assert job["result"]["created"] == 3
    assert job["result"]["errors"] == [
        {"row": 3, "column": "性别", "message": "'不详' is not one of: female、male、女、男"}
    ]


async def test_a_badge_held_by_an_existing_volunteer_is_a_row_error(
    client, world, run_worker, session_factory
):
    await import_and_wait(client, world, run_worker, csv_file(rows_for(world, [1500])))
    rows = rows_for(world, [1501], overrides={1501: {"袖标号": "GZ-1500"}})
    job = await import_and_wait(client, world, run_worker, csv_file(rows))
    [error] = job["result"]["errors"]
    assert error["column"] == "袖标号"
    assert "belongs to volunteer" in error["message"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "文件是空的"),
        (csv_file([], header=HEADER), "没有数据行"),
        (csv_file([["x"]], header=["昵称"]), "表头“昵称”无法识别"),
        (csv_file([["林"]], header=["姓名"]), "缺少必填列"),
        (csv_file([], header=["姓名", "姓名"]), "“姓名”列出现了两次"),
        (b"PK\x03\x04 not really a workbook", "不是可读取的 XLSX 工作簿"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an Excel 97 file", "另存为 .xlsx"),
        ("姓名\n".encode("utf-16"), "既不是 UTF-8 也不是 GB 18030"),
    ],
    ids=[
        "empty",
        "header-only",
        "unknown-header",
        "missing-columns",
        "repeated-column",
        "fake-xlsx",
        "xls",
        "utf-16",
    ],
)
async def test_a_wrong_file_is_refused_at_once_and_nothing_is_stored(
    client, world, session_factory, content, message
):
    response = await upload(client, world, content)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "upload_refused"
    assert message in problem["errors"][0]["message"]
    assert problem["errors"][0]["field"] == "body.file"
    assert await count_rows(session_factory, VolunteerImport) == 0
    async with session_factory() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(JobRun).where(col(JobRun.name) == IMPORT.name)
            )
            == 0
        )


async def test_the_station_is_the_callers_or_one_they_reach(client, world, run_worker):
    # A county admin must name the station; a station officer cannot name another one.
    response = await upload(client, world, csv_file(rows_for(world, [1600])), role=Role.ADMIN)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.station_id"
    response = await upload(
        client, world, csv_file(rows_for(world, [1600])), station_id=world.other.station.id
    )
    assert response.status_code == 404
    response = await upload(
        client, world, csv_file(rows_for(world, [1600])), role=Role.ADMIN, station_id=world.own.station.id
    )
    assert response.status_code == 202


async def test_an_import_job_is_readable_by_its_station_only(client, world, run_worker):
    response = await upload(client, world, csv_file(rows_for(world, [1700])))
    url = response.headers["location"]
    await run_worker()
    assert (await client.get(url, headers=world.headers(Role.ASSISTANT))).status_code == 200
    assert (await client.get(url, headers=world.headers(Role.ADMIN))).status_code == 200
    assert (await client.get(url, headers=world.headers(Role.OFFICER, "other"))).status_code == 404
    assert (await client.get(url, headers=world.headers(Role.VOLUNTEER))).status_code == 403
    # Operators' runs stay admin-only.
    assert (
        await client.get(f"/api/v1/jobs/{world.job_run_id}", headers=world.headers(Role.LEADER))
    ).status_code == 404


async def test_an_import_delivered_twice_enrols_once(client, world, run_worker, session_factory, settings):
    response = await upload(client, world, csv_file(rows_for(world, range(1800, 1803))))
    run = response.json()
    await run_worker()
    again = await jobs_service.execute(session_factory, settings, IMPORT, run["payload"], run_id=run["id"])
    assert again.skipped
    assert len(await station_volunteers(session_factory, world)) == 4
    # Run without its run record (as a bare redelivery would), the processed file is refused, not re-read.
    with pytest.raises(Exception, match="processed already"):
        await jobs_service.execute(session_factory, settings, IMPORT, run["payload"])
    assert len(await station_volunteers(session_factory, world)) == 4


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
async def test_the_template_round_trips(client, world, run_worker, session_factory, file_format):
    response = await client.get(
        "/api/v1/volunteers/imports/template",
        params={"format": file_format},
        headers=world.headers(Role.ASSISTANT),
    )
    assert response.status_code == 200
    assert f'filename="volunteers-template.{file_format}"' in response.headers["content-disposition"]
    content = response.content
    if file_format == "csv":
        assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
        header = next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    else:
        workbook = openpyxl.load_workbook(io.BytesIO(content))
        assert workbook.sheetnames == ["义警名单", "填写说明"]
        header = [str(cell.value) for cell in workbook["义警名单"][1]]
    assert header[:6] == ["姓名", "性别", "手机号", "身份证号", "站点", "来源"]
    # Filling the template's own columns imports.
    [values] = rows_for(world, [1900])
    row = dict(zip(HEADER, values, strict=True))
    rows = [[row.get(column, "") for column in header]]
    filled = csv_file(rows, header=header)
    job = await import_and_wait(client, world, run_worker, filled)
    assert job["result"]["created"] == 1


async def test_a_minor_is_a_row_error(client, world, run_worker):
    child = "350121" + "20150601" + "123"
    child += id_card_check_code(child)
    rows = rows_for(world, [2000, 2001], overrides={2001: {"身份证号": child}})
    job = await import_and_wait(client, world, run_worker, csv_file(rows))
    assert job["result"]["errors"] == [
        {"row": 3, "column": "身份证号", "message": "the person is under 18 on the joining date"}
    ]


async def test_two_imports_of_the_same_people_at_once_enrol_each_once(
    client, world, run_worker, session_factory
):
    rows = rows_for(world, range(2100, 2400))
    first = await upload(client, world, csv_file(rows))
    second = await upload(client, world, csv_file(list(reversed(rows))))
    await run_worker()  # four jobs at a time: both imports run together
    results = []
    for response in (first, second):
        job = (await client.get(response.headers["location"], headers=world.headers(Role.OFFICER))).json()
        assert job["status"] == "succeeded", job
        results.append(job["result"])
    assert sorted(result["created"] for result in results) == [0, 300]
    assert sorted(result["skipped_existing"] for result in results) == [0, 300]
    assert len(await station_volunteers(session_factory, world)) == 301
