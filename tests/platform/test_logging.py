"""Log lines: readable in a developer's terminal, JSON in production; the worker's routine lines quiet, and no
record's free text (a notification's title and body) at INFO."""

import base64
import json
import logging
import re
import uuid
from collections.abc import Iterator

import pytest
import structlog

from yijing.access import Role
from yijing.db import session_scope
from yijing.logging import configure_logging
from yijing.notifications.jobs import DELIVER, notify
from yijing.notifications.service import DeliverPayload
from yijing.outbox import service as outbox
from yijing.settings import Environment, Settings
from yijing_worker import worker as worker_module

ROUTINE_RELAY_LINE = re.compile(rf"[→←] {re.escape(worker_module.RELAY_TRIGGER)}")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The test run's logging as it was: the tests below configure their own."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


def json_lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_development_logs_are_console_lines_and_production_logs_json(capsys, monkeypatch, restore_logging):
    monkeypatch.delenv("YIJING_LOG_JSON", raising=False)
    development = Settings(_env_file=None, env=Environment.DEVELOPMENT)
    production = Settings(
        _env_file=None,
        env=Environment.PRODUCTION,
        secret_key="s" * 64,
        personal_data_key=base64.b64encode(bytes(range(32))).decode(),
        database_url="postgresql+asyncpg://db/yijing",
        redis_url="redis://redis:6379/0",
    )
    assert (development.log_json, production.log_json) == (False, True)
    log = structlog.get_logger("yijing.test_logging")

    configure_logging(development.log_level, json=development.log_json)
    log.info("station_opened", station_id="s-1")
    [console] = capsys.readouterr().err.splitlines()
    with pytest.raises(json.JSONDecodeError):
        json.loads(console)
    assert "station_opened" in console
    assert "station_id=s-1" in console

    configure_logging(production.log_level, json=production.log_json)
    log.info("station_opened", station_id="s-1")
    [line] = json_lines(capsys.readouterr().err)
    assert (line["event"], line["level"], line["station_id"]) == ("station_opened", "info", "s-1")


def test_an_explicit_log_json_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("YIJING_LOG_JSON", "true")
    assert Settings(_env_file=None, env=Environment.DEVELOPMENT).log_json is True
    monkeypatch.setenv("YIJING_LOG_JSON", "false")
    assert Settings(_env_file=None, env=Environment.TEST).log_json is False


@pytest.mark.parametrize(("level", "shown"), [("INFO", False), ("DEBUG", True)])
async def test_the_outbox_relays_routine_lines_are_debug(
    run_worker, settings, capsys, restore_logging, level, shown
):
    relay = [job for job in worker_module.cron_jobs() if job.name == worker_module.RELAY_TRIGGER]
    worker = await run_worker(
        functions=[],
        cron_jobs=relay,
        worker_settings=settings.model_copy(update={"log_level": level, "log_json": True}),
    )
    assert worker.jobs_complete >= 1  # two when the run straddles a 10-second tick
    lines = [line for line in json_lines(capsys.readouterr().err) if ROUTINE_RELAY_LINE.search(line["event"])]
    if shown:
        assert len(lines) == 2 * worker.jobs_complete  # each run's start and end
        assert {line["level"] for line in lines} == {"debug"}
    else:
        assert lines == []


def test_the_relays_failures_keep_their_level():
    failed = logging.LogRecord(
        "arq.worker",
        logging.ERROR,
        __file__,
        1,
        "%6.2fs ! %s failed, %s: %s",
        (0.1, worker_module.RELAY_TRIGGER, "ConnectionError", "Redis is down"),
        None,
    )
    assert worker_module.ARQ_JOB_LINES.filter(failed) is True
    assert (failed.levelno, failed.levelname) == (logging.ERROR, "ERROR")


async def test_a_delivered_notification_logs_neither_its_title_nor_its_body(
    world, settings, session_factory, redis, run_worker, capsys, restore_logging
):
    payload = DeliverPayload(
        recipients=[world.user(Role.OFFICER).id],
        kind="hazard.assigned",
        title="隐患整改：夜市燃气罐",
        body="责任人王建国须于周五前整改",
        dedupe_key=f"test-logging:{uuid.uuid4()}",
    )
    async with session_scope(session_factory) as session:
        await notify(session, payload)
    relayed = await outbox.relay(session_factory, redis)
    # At DEBUG, to see every line a delivery writes: even there, none holds what the notice says.
    worker = await run_worker(
        functions=[worker_module.arq_function(DELIVER)],
        worker_settings=settings.model_copy(update={"log_json": True, "log_level": "DEBUG"}),
    )
    assert worker.jobs_complete == relayed.sent >= 1
    captured = capsys.readouterr().err
    started = [line for line in json_lines(captured) if "→" in line["event"]]
    assert len(started) == relayed.sent
    for line in started:
        assert line["event"].endswith(f":{DELIVER.name}"), "the job's reference, none of its arguments"
    for text in (payload.title, payload.body, "王建国"):
        assert text not in captured
    # A notification per event is routine: its lines (arq's and ours) are DEBUG, not a console flood.
    delivery_lines = [
        line
        for line in json_lines(captured)
        if DELIVER.name in line["event"] or line.get("job") == DELIVER.name
    ]
    assert any(line["event"] == "job_done" for line in delivery_lines)
    assert {line["level"] for line in delivery_lines} == {"debug"}


@pytest.mark.parametrize(("level", "probes_shown"), [("INFO", False), ("DEBUG", True)])
async def test_probes_are_logged_only_when_debugging_or_failing(
    client, capsys, restore_logging, level, probes_shown
):
    configure_logging(level, json=True)
    capsys.readouterr()
    await client.get("/healthz")
    await client.head("/readyz")
    await client.get("/metrics")  # refused (401): a failed scrape is worth a line
    await client.get("/api/v1/me")  # not a probe: a line at INFO
    lines = [line for line in json_lines(capsys.readouterr().err) if line["event"] == "request"]
    expected = ["/healthz", "/readyz"] if probes_shown else []
    assert [line["path"] for line in lines] == [*expected, "/metrics", "/api/v1/me"]
