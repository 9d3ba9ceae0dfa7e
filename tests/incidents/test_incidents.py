"""Receiving incidents: batches and CSV files stored once by source reference, checked against stations,
sites and the code lists of their day, within the sending key's reach; the code lists themselves."""

import csv
import io
import re
import tracemalloc
from datetime import UTC, date, datetime

import pytest
from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlmodel import col

from tests.world import make_api_key
from yijing.access import ApiScope, Role
from yijing.db import session_scope
from yijing.ids import utcnow
from yijing.incidents import repository
from yijing.incidents.jobs import IMPORT
from yijing.incidents.models import Incident, IncidentCode, IncidentImport
from yijing.incidents.schemas import CodeRead, ImportRead
from yijing.jobs import service as jobs
from yijing.jobs.models import JobRun
from yijing.outbox.models import OutboxMessage

# Problem details are Chinese by default; English where a test reads the English text.
ENGLISH = {"Accept-Language": "en"}


def record(world, ref: str, when: str = "2023-10-05T12:00:00+08:00", place: str = "own", **fields) -> dict:
    return {
        "source_ref": ref,
        "station_id": str(getattr(world, place).station.id),
        "occurred_at": when,
        "class_code": "illegal_crime",
    } | fields


async def writer_key(world, session_factory, settings, place: str = "own") -> dict[str, str]:
    _, key = await make_api_key(
        session_factory, settings, [ApiScope.INCIDENTS_WRITE], [getattr(world, place).station.id]
    )
    return {"X-API-Key": key}


async def send(client, headers, records, system: str = "jq110"):
    return await client.post(
        "/api/v1/incidents", json={"source_system": system, "incidents": records}, headers=headers
    )


async def stored(session_factory) -> list[Incident]:
    async with session_factory() as session:
        return list((await session.scalars(select(Incident).order_by(col(Incident.source_ref)))).all())


async def test_a_batch_is_stored_once_by_reference(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    batch = [record(world, "A1"), record(world, "A2", tags=["porn_gambling", "floating_population"])]
    first = await send(client, headers, batch)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 2, "created": 2, "updated": 0, "unchanged": 0}
    again = await send(client, headers, batch)
    assert again.json() == {"received": 2, "created": 0, "updated": 0, "unchanged": 2}
    changed = await send(client, headers, [record(world, "A1", class_code="public_order")])
    assert changed.json() == {"received": 1, "created": 0, "updated": 1, "unchanged": 0}
    incidents = await stored(session_factory)
    assert [(i.source_ref, i.class_code, i.version) for i in incidents] == [
        ("A1", "public_order", 2),
        ("A2", "illegal_crime", 1),
    ]
    assert incidents[1].tags == ["floating_population", "porn_gambling"]  # kept sorted
    # Another system may use the same reference for its own record.
    other = await send(client, headers, [record(world, "A1")], system="jq119")
    assert other.json()["created"] == 1


async def test_the_day_is_the_stations_day(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    await send(
        client,
        headers,
        [
            record(world, "late", "2023-10-31T23:30:00+08:00"),
            record(world, "utc", "2023-10-31T16:00:00Z"),  # 1 November, 00:00 in Shanghai
        ],
    )
    days = {incident.source_ref: str(incident.occurred_on) for incident in await stored(session_factory)}
    assert days == {"late": "2023-10-31", "utc": "2023-11-01"}


async def test_a_batch_with_a_bad_record_stores_nothing(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    response = await send(
        client,
        headers,
        [
            record(world, "ok"),
            record(world, "far", place="other"),
            record(world, "site", site_id=str(world.other.site.id)),
            record(world, "code", class_code="arson"),
            record(world, "tag", tags=["smuggling"]),
            record(world, "ok"),
        ],
    )
    assert response.status_code == 422
    fields = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert set(fields) == {
        "body.incidents[1].station_id",
        "body.incidents[2].site_id",
        "body.incidents[3].class_code",
        "body.incidents[4].tags",
        "body.incidents[5].source_ref",
    }
    assert await stored(session_factory) == []
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_a_record_of_a_station_out_of_reach_cannot_be_overwritten(
    client, world, session_factory, settings
):
    await send(
        client,
        await writer_key(world, session_factory, settings, "other"),
        [record(world, "X", place="other")],
    )
    # The own station's key sends the same reference for its own station: refused, the other's record kept.
    headers = await writer_key(world, session_factory, settings) | ENGLISH
    response = await send(client, headers, [record(world, "X")])
    assert response.status_code == 422
    assert "outside your reach" in response.json()["errors"][0]["message"]
    [kept] = await stored(session_factory)
    assert kept.station_id == world.other.station.id


async def test_only_incident_writers_send(client, world, session_factory, settings):
    stats_key = {"X-API-Key": world.api_keys["stats"][1]}
    assert (await send(client, stats_key, [record(world, "A")])).status_code == 403
    assert (await send(client, world.headers(Role.OFFICER), [record(world, "A")])).status_code == 403
    assert (await send(client, world.headers(Role.ADMIN), [record(world, "A")])).status_code == 200


async def test_records_are_validated(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    for bad in (
        {"occurred_at": "2023-10-05T12:00:00"},  # no offset
        {"class_code": "Illegal Crime"},
        {"source_ref": ""},
        {"tags": ["a"] * 11},
        {"unknown": 1},
    ):
        response = await send(client, headers, [record(world, "A") | bad])
        assert response.status_code == 422, bad
    response = await client.post(
        "/api/v1/incidents", json={"source_system": "jq110", "incidents": []}, headers=headers
    )
    assert response.status_code == 422


def csv_file(rows: list[dict]) -> bytes:
    output = io.StringIO()
    writer = csv.DictWriter(
        output,
        fieldnames=[
            "source_system",
            "source_ref",
            "station_id",
            "site_id",
            "occurred_at",
            "class_code",
            "tags",
        ],
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({"source_system": "jq110", "site_id": "", "tags": ""} | row)
    return output.getvalue().encode("utf-8-sig")


async def run_import(client, headers, content: bytes, session_factory, settings, **form) -> dict:
    response = await client.post(
        "/api/v1/incidents/imports",
        files={"file": ("jq.csv", content, "text/csv")},
        data=form,
        headers=headers,
    )
    assert response.status_code == 202, response.text
    upload = response.json()
    assert response.headers["location"] == f"/api/v1/incidents/imports/{upload['id']}"
    run = upload["job"]
    await jobs.execute(session_factory, settings, IMPORT, run["payload"], run_id=run["id"])
    polled = await client.get(response.headers["location"], headers=headers)
    assert polled.status_code == 200
    return polled.json()["job"]["result"]


async def test_a_csv_file_imported_twice_stores_its_rows_once(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    station = str(world.own.station.id)
    rows = [
        {
            "source_ref": f"C{n}",
            "station_id": station,
            "occurred_at": f"2023-10-{n + 1:02d}T09:00:00+08:00",
            "class_code": "public_order",
            "tags": "porn_gambling;floating_population" if n % 2 else "",
        }
        for n in range(20)
    ]
    first = await run_import(client, headers, csv_file(rows), session_factory, settings)
    assert (first["outcome"], first["created"], first["refused_rows"]) == ("imported", 20, 0)
    second = await run_import(client, headers, csv_file(rows), session_factory, settings)
    assert (second["outcome"], second["created"], second["updated"], second["unchanged"]) == (
        "imported",
        0,
        0,
        20,
    )
    assert len(await stored(session_factory)) == 20


async def test_bad_rows_refuse_the_file_unless_the_valid_ones_are_kept(
    client, world, session_factory, settings
):
    headers = await writer_key(world, session_factory, settings)
    station = str(world.own.station.id)
    rows = [
        {
            "source_ref": "G1",
            "station_id": station,
            "occurred_at": "2023-10-01T09:00:00+08:00",
            "class_code": "fire",
        },
        {"source_ref": "B1", "station_id": station, "occurred_at": "yesterday", "class_code": "fire"},
        {
            "source_ref": "B2",
            "station_id": str(world.other.station.id),
            "occurred_at": "2023-10-01T09:00:00+08:00",
            "class_code": "fire",
        },
    ]
    rejected = await run_import(client, headers, csv_file(rows), session_factory, settings)
    assert rejected["outcome"] == "rejected"
    assert [(error["row"], error["column"]) for error in rejected["errors"]] == [
        (3, "occurred_at"),
        (4, "station_id"),
    ]
    assert await stored(session_factory) == []
    kept = await run_import(
        client, headers, csv_file(rows), session_factory, settings, keep_valid_rows="true"
    )
    assert (kept["outcome"], kept["created"], kept["refused_rows"]) == ("imported_valid_rows", 1, 2)
    assert [incident.source_ref for incident in await stored(session_factory)] == ["G1"]


async def test_a_file_with_the_wrong_columns_is_refused_at_once(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    # A "header" field beyond what a CSV reader takes (a binary file, say) is not CSV at all.
    response = await client.post(
        "/api/v1/incidents/imports",
        files={"file": ("x.csv", b"a" * 200_000, "text/csv")},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "not_csv"
    wrong_columns = {"file": ("x.csv", b"ref,when\nA,2023-10-01\n", "text/csv")}
    response = await client.post("/api/v1/incidents/imports", files=wrong_columns, headers=headers)
    assert response.status_code == 422
    assert "缺少：source_system" in response.json()["detail"]
    response = await client.post("/api/v1/incidents/imports", files=wrong_columns, headers=headers | ENGLISH)
    assert "missing: source_system" in response.json()["detail"]


async def test_an_import_is_read_by_its_uploader_only(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    response = await client.post(
        "/api/v1/incidents/imports", files={"file": ("x.csv", csv_file([]), "text/csv")}, headers=headers
    )
    location = response.headers["location"]
    other = await writer_key(world, session_factory, settings, "other")
    assert (await client.get(location, headers=other)).status_code == 404
    # Read lean (the upload, then its run), it answers what the upload's POST did.
    for reader in (headers, world.headers(Role.ADMIN)):
        answer = await client.get(location, headers=reader)
        assert answer.status_code == 200
        assert answer.content == response.content


async def test_imports_and_codes_are_read_as_stored(client, world, session_factory, settings):
    """Read lean, an import with its finished run, and a code list, answer what their records validated as
    read models would."""
    headers = await writer_key(world, session_factory, settings)
    row = record(world, "S1", "2023-10-01T09:00:00Z", tags="porn_gambling")
    files = {"file": ("jq.csv", csv_file([row]), "text/csv")}
    upload = (await client.post("/api/v1/incidents/imports", files=files, headers=headers)).json()
    await jobs.execute(
        session_factory, settings, IMPORT, upload["job"]["payload"], run_id=upload["job"]["id"]
    )
    answer = await client.get(f"/api/v1/incidents/imports/{upload['id']}", headers=headers)
    async with session_factory() as session:
        stored = await session.get(IncidentImport, upload["id"])
        assert stored is not None
        run = await session.get(JobRun, upload["job"]["id"])
        assert run is not None
        order = (col(IncidentCode.code), col(IncidentCode.version))
        codes = (
            await session.scalars(
                select(IncidentCode).where(col(IncidentCode.kind) == "tag").order_by(*order)
            )
        ).all()
    job = run.model_dump() | {"progress": {"done": run.progress_done, "total": run.progress_total}}
    upload_read = ImportRead.model_validate(stored.model_dump() | {"job": job})
    assert answer.content == upload_read.model_dump_json().encode()
    assert answer.json()["job"]["result"]["created"] == 1
    answer = await client.get("/api/v1/incidents/codes", params={"kind": "tag"}, headers=headers)
    code_reads = [CodeRead.model_validate(code.model_dump()) for code in codes]
    assert answer.content == TypeAdapter(list[CodeRead]).dump_json(code_reads)


async def test_code_lists_are_versioned(client, world, session_factory, settings):
    codes = (await client.get("/api/v1/incidents/codes", headers=world.headers(Role.OFFICER))).json()
    assert {(code["kind"], code["code"]) for code in codes} >= {
        ("class", "illegal_crime"),
        ("tag", "porn_gambling"),
    }
    body = {
        "kind": "tag",
        "code": "porn_gambling",
        "label_zh": "黄赌毒",
        "label_en": "Vice",
        "valid_from": "2024-01-01",
    }
    assert (
        await client.post("/api/v1/incidents/codes", json=body, headers=world.headers(Role.LEADER))
    ).status_code == 403
    response = await client.post("/api/v1/incidents/codes", json=body, headers=world.headers(Role.ADMIN))
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 2
    versions = (
        await client.get(
            "/api/v1/incidents/codes", params={"kind": "tag"}, headers=world.headers(Role.OFFICER)
        )
    ).json()
    porn = [code for code in versions if code["code"] == "porn_gambling"]
    assert [(code["version"], code["valid_to"]) for code in porn] == [(1, "2023-12-31"), (2, None)]
    earlier = body | {"valid_from": "2023-06-01"}
    assert (
        await client.post("/api/v1/incidents/codes", json=earlier, headers=world.headers(Role.ADMIN))
    ).status_code == 422
    # A brand-new tag is valid from its day on: an incident before it is refused.
    new = {
        "kind": "tag",
        "code": "drugs",
        "label_zh": "涉毒",
        "label_en": "Drugs",
        "valid_from": "2024-01-01",
    }
    await client.post("/api/v1/incidents/codes", json=new, headers=world.headers(Role.ADMIN))
    headers = await writer_key(world, session_factory, settings)
    assert (await send(client, headers, [record(world, "D0", tags=["drugs"])])).status_code == 422
    assert (
        await send(client, headers, [record(world, "D1", "2024-01-02T10:00:00+08:00", tags=["drugs"])])
    ).status_code == 200


async def test_stored_changes_queue_a_recount_of_their_days(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    await send(client, headers, [record(world, "M", "2023-10-05T10:00:00+08:00")])
    await send(client, headers, [record(world, "M", "2023-10-09T10:00:00+08:00")])
    async with session_factory() as session:
        messages = (await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    days = [
        message.arguments["payload"]["days"] for message in messages if message.job_name == "stats.recompute"
    ]
    assert days == [["2023-10-05"], ["2023-10-05", "2023-10-09"]]


async def test_a_file_that_is_not_csv_past_some_row_stores_nothing(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    station = str(world.own.station.id)
    good = f"jq110,G1,{station},,2023-10-01T09:00:00+08:00,fire,\n"
    content = (
        "source_system,source_ref,station_id,site_id,occurred_at,class_code,tags\n"
        + good
        + f"jq110,G2,{station},,2023-02-30T09:00:00+08:00,fire,\n"  # no such day
        + f'jq110,G3,{station},,2023-10-01T09:00:00+08:00,fire,,extra,"\n'
    ).encode()
    result = await run_import(client, headers, content, session_factory, settings)
    assert result["outcome"] == "rejected"
    assert result["errors"][0]["message"].startswith("not CSV")
    assert await stored(session_factory) == []
    dated = await run_import(
        client, headers, (content.decode().rsplit("jq110,G3", 1)[0]).encode(), session_factory, settings
    )
    assert [(error["row"], error["column"]) for error in dated["errors"]] == [(3, "occurred_at")]


async def test_an_import_job_delivered_again_stores_nothing_more(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    row = {"source_ref": "J1", "station_id": str(world.own.station.id),
           "occurred_at": "2023-10-01T09:00:00+08:00", "class_code": "fire"}  # fmt: skip
    response = await client.post(
        "/api/v1/incidents/imports", files={"file": ("jq.csv", csv_file([row]), "text/csv")}, headers=headers
    )
    run = response.json()["job"]
    first = await jobs.execute(session_factory, settings, IMPORT, run["payload"], run_id=run["id"])
    assert first.result is not None
    assert first.result["created"] == 1
    # A second delivery of the same run is skipped; the same payload run anew finds the file already read.
    again = await jobs.execute(session_factory, settings, IMPORT, run["payload"], run_id=run["id"])
    assert again.skipped
    anew = await jobs.execute(session_factory, settings, IMPORT, run["payload"])
    assert anew.result is not None
    assert anew.result["outcome"] == "gone"
    assert len(await stored(session_factory)) == 1


async def test_impossible_dates_are_refused_rows_not_a_failed_job(client, world, session_factory, settings):
    headers = await writer_key(world, session_factory, settings)
    station = str(world.own.station.id)
    rows = [
        {"source_ref": f"Z{n}", "station_id": station, "occurred_at": when, "class_code": "fire"}
        for n, when in enumerate(
            ["0000-01-01T00:00:00+08:00", "2023-1x-01T00:00:00+08:00", "2023-02-29T10:00:00Z"]
        )
    ]
    result = await run_import(client, headers, csv_file(rows), session_factory, settings)
    assert [(error["row"], error["column"]) for error in result["errors"]] == [
        (2, "occurred_at"), (3, "occurred_at"), (4, "occurred_at"),
    ]  # fmt: skip


async def test_keeping_valid_rows_of_a_file_that_is_not_csv_keeps_nothing(
    client, world, session_factory, settings
):
    headers = await writer_key(world, session_factory, settings)
    content = b'source_system,source_ref,station_id,occurred_at,class_code\njq110,A,"unclosed\n'
    result = await run_import(client, headers, content, session_factory, settings, keep_valid_rows="true")
    assert (result["outcome"], result["created"], result["unchanged"]) == ("rejected", 0, 0)


async def test_a_retired_code_stays_retired_until_its_new_version(client, world, session_factory):
    from datetime import date

    from sqlalchemy import update

    from yijing.db import session_scope
    from yijing.incidents.models import IncidentCode

    async with session_scope(session_factory) as session:
        await session.execute(
            update(IncidentCode).where(col(IncidentCode.code) == "minors").values(valid_to=date(2020, 12, 31))
        )
    body = {
        "kind": "tag",
        "code": "minors",
        "label_zh": "涉未成年人",
        "label_en": "Minors",
        "valid_from": "2024-01-01",
    }
    assert (
        await client.post("/api/v1/incidents/codes", json=body, headers=world.headers(Role.ADMIN))
    ).status_code == 201
    codes = (
        await client.get("/api/v1/incidents/codes", params={"kind": "tag"}, headers=world.headers(Role.ADMIN))
    ).json()
    minors = [(code["version"], code["valid_to"]) for code in codes if code["code"] == "minors"]
    assert minors == [(1, "2020-12-31"), (2, None)]


async def test_a_flood_of_malformed_rows_is_counted_without_holding_every_problem(
    client, world, session_factory, settings
):
    """200,000 rows with every field malformed: a million problems, of which the job fetches and reports
    the first thousand (it used to fetch them all into the worker's memory)."""
    headers = await writer_key(world, session_factory, settings)
    header = "source_system,source_ref,station_id,site_id,occurred_at,class_code,tags\n"
    content = (header + ",,x,x,x,,\n" * 200_000).encode()
    response = await client.post(
        "/api/v1/incidents/imports", files={"file": ("flood.csv", content, "text/csv")}, headers=headers
    )
    assert response.status_code == 202, response.text
    run = response.json()["job"]
    tracemalloc.start()
    try:
        execution = await jobs.execute(session_factory, settings, IMPORT, run["payload"], run_id=run["id"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    result = execution.result
    assert result is not None
    assert (result["outcome"], result["rows"], result["refused_rows"]) == ("rejected", 200_000, 200_000)
    assert len(result["errors"]) == 1000
    assert peak < 64 << 20, f"peak {peak >> 20} MiB"


async def test_each_bad_row_of_a_mixed_file_is_named_and_the_good_ones_kept_on_request(
    client, world, session_factory, settings
):
    """Every refusal a row can meet, in one file: its shape, then its references, the code lists of its
    day, and a reference sent twice within the file or stored already for a station out of reach."""
    await send(
        client,
        await writer_key(world, session_factory, settings, "other"),
        [record(world, "THEIRS", place="other")],
    )
    headers = await writer_key(world, session_factory, settings) | ENGLISH
    station = str(world.own.station.id)
    good = {"station_id": station, "occurred_at": "2024-02-29T10:00:00+08:00", "class_code": "fire"}
    rows = [
        {"source_ref": "G1"} | good,  # row 2
        {"source_ref": "G1"} | good,  # 3: sent twice
        {"source_ref": "S1", "site_id": str(world.other.site.id)} | good,  # 4
        {"source_ref": "C1"} | good | {"class_code": "arson"},  # 5
        {"source_ref": "T1", "tags": "smuggling"} | good,  # 6
        {"source_ref": "D1"} | good | {"station_id": "x", "class_code": "Fire"},  # 7: two shape problems
        # 8: the same reference as row 7, which was refused for its shape: not a repeat.
        {"source_ref": "D1"} | good,
        {"source_ref": "THEIRS"} | good,  # 9
        # 10: any of the separators, repeated tags; the station's id in capitals without its dashes.
        {"source_ref": "M1", "tags": " porn_gambling、floating_population;porn_gambling，"} | good,
        {"source_ref": "U1"} | good | {"station_id": world.own.station.id.hex.upper()},  # 11
    ]
    expected = [
        (3, "source_ref", "sent twice in this batch"),
        (4, "site_id", "not a site of the station"),
        (5, "class_code", "not a class valid on the day it occurred"),
        (6, "tags", "a tag not valid on the day it occurred"),
        (7, "station_id", "not a UUID"),
        (7, "class_code", "not a code"),
        (9, "source_ref", "stored already for a station outside your reach"),
    ]
    rejected = await run_import(client, headers, csv_file(rows), session_factory, settings)
    assert (rejected["outcome"], rejected["rows"], rejected["refused_rows"]) == ("rejected", 10, 6)
    assert [(error["row"], error["column"], error["message"]) for error in rejected["errors"]] == expected
    assert [incident.source_ref for incident in await stored(session_factory)] == ["THEIRS"]
    kept = await run_import(
        client, headers, csv_file(rows), session_factory, settings, keep_valid_rows="true"
    )
    assert [(error["row"], error["column"], error["message"]) for error in kept["errors"]] == expected
    counts = {name: kept[name] for name in ("outcome", "created", "updated", "unchanged", "refused_rows")}
    assert counts == {
        "outcome": "imported_valid_rows", "created": 4, "updated": 0, "unchanged": 0, "refused_rows": 6,
    }  # fmt: skip
    incidents = {incident.source_ref: incident for incident in await stored(session_factory)}
    assert sorted(incidents) == ["D1", "G1", "M1", "THEIRS", "U1"]
    assert incidents["M1"].tags == ["floating_population", "porn_gambling"]
    assert str(incidents["G1"].occurred_on) == "2024-02-29"
    assert incidents["U1"].station_id == world.own.station.id


# A station id the file may write: as _UUID_TEXT in yijing.incidents.repository has it.
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


async def test_a_station_id_is_refused_for_its_shape_exactly_when_it_is_not_a_uuid(
    client, world, session_factory, settings
):
    """The usual form of a UUID is checked by a shortcut, others by the full pattern: every one-character
    change of a real station id (and a few other forms) is refused for its shape exactly when the pattern
    refuses it."""
    headers = await writer_key(world, session_factory, settings)
    canonical = str(world.own.station.id)
    variants = {canonical, canonical.upper(), canonical.replace("-", ""), f"{{{canonical}}}", f" {canonical}"}
    for position in range(len(canonical) + 1):
        variants.add(canonical[:position] + canonical[position + 1 :])
        for char in "-0aAgG{ ":
            variants.add(canonical[:position] + char + canonical[position + 1 :])
            variants.add(canonical[:position] + char + canonical[position:])
    ordered = sorted(variants)
    rows = [
        {"source_ref": f"V{n}", "station_id": value, "occurred_at": "2023-10-01T09:00:00+08:00",
         "class_code": "fire"}
        for n, value in enumerate(ordered)
    ]  # fmt: skip
    result = await run_import(client, headers, csv_file(rows), session_factory, settings)
    refused = {error["row"] for error in result["errors"] if error["message"] == "not a UUID"}
    assert refused == {n + 2 for n, value in enumerate(ordered) if not UUID_TEXT.fullmatch(value)}
    assert result["rows"] == len(ordered) > 500


@pytest.mark.committed  # the other writer needs a connection of its own
async def test_a_reference_another_writer_stored_since_the_checks_is_merged(
    client, world, session_factory, settings, monkeypatch
):
    headers = await writer_key(world, session_factory, settings)
    station = str(world.own.station.id)
    rows = [
        {"source_ref": f"R{n}", "station_id": station, "occurred_at": "2023-10-01T09:00:00+08:00",
         "class_code": "fire"}
        for n in range(3)
    ]  # fmt: skip
    insert_new = repository._insert_new

    async def racing(session, checked, params):
        # Committed after the job's checks, before its insert: the insert finds the reference taken.
        async with session_scope(session_factory) as other:
            other.add(
                Incident(
                    station_id=world.own.station.id, source_system="jq110", source_ref="R1",
                    occurred_at=datetime(2023, 9, 30, 9, tzinfo=UTC), occurred_on=date(2023, 9, 30),
                    class_code="traffic", received_at=utcnow(), updated_at=utcnow(),
                )
            )  # fmt: skip
        return await insert_new(session, checked, params)

    monkeypatch.setattr(repository, "_insert_new", racing)
    result = await run_import(client, headers, csv_file(rows), session_factory, settings)
    assert (result["outcome"], result["created"], result["updated"]) == ("imported", 2, 1)
    incidents = await stored(session_factory)
    assert [(i.source_ref, i.class_code, i.version) for i in incidents] == [
        ("R0", "fire", 1), ("R1", "fire", 2), ("R2", "fire", 1),
    ]  # fmt: skip
    async with session_factory() as session:
        messages = (await session.scalars(select(OutboxMessage))).all()
    days = {day for message in messages for day in message.arguments["payload"].get("days", [])}
    assert days == {"2023-09-30", "2023-10-01"}  # the old day of the record taken over is recounted too
