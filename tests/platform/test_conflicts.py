"""The clash kit: what each domain declares is checked against the schema, every unique key of the schema is
declared or explained, a clash undoes only its own write, and the commit of a job or command translates a
clash that only surfaces there."""

import string

import pytest
from sqlalchemy import UniqueConstraint

import yijing_api.main  # noqa: F401  (every domain, so every declaration, is loaded)
from yijing import conflicts
from yijing.db import session_scope
from yijing.models import metadata
from yijing.org.errors import StationNameTaken
from yijing.org.models import Site, SiteKind, Station

# Unique keys no request's write can break, so they need no domain error; and why.
NOT_A_CLASH = {
    "uq_daily_rollups_figure": "rewritten by the worker's recount (delete, then insert)",
    "uq_api_keys_prefix": "a random prefix the server draws",
    "uq_calendar_feeds_token_hash": "a random secret the server draws",
    "uq_refresh_tokens_token_hash": "a random secret the server draws",
    "uq_incidents_source_system_source_ref": "a record sent again updates the stored one (ON CONFLICT)",
    "uq_notifications_recipient_id_dedupe_key": "a notice sent twice is stored once (ON CONFLICT)",
    "uq_captain_weeks_group_id_week_start": "the rota's reconcile stores weeks with ON CONFLICT",
    "uq_team_assignments_one_officer": "refused first under the site's row lock (team_post_filled)",
    "uq_team_assignments_open_member": "refused first under the site's row lock (already_on_team)",
    "uq_group_memberships_open_volunteer": "a member leaves their group before joining another, under locks",
    "uq_hazards_station_id_client_id": "an offline report sent again answers with the stored one",
    "uq_hazard_attachments_hazard_id_upload_sha256_gps_stripped": "a photo sent again is stored once",
    "uq_patrol_checkins_station_id_client_id": "a batch sent again stores each once (ON CONFLICT); a reused "
    "id with another body is refused first (client_id_reused)",
    "uq_patrol_logs_station_id_client_id": "an entry sent again answers with the stored one; a reused id "
    "with another body is refused first (client_id_reused)",
    "uq_patrol_log_photos_log_id_upload_sha256_gps_stripped": "a photo sent again is stored once",
    "uq_patrols_plan_id_plan_day": "the plans job makes each plan's day once (ON CONFLICT)",
    "uq_disputes_station_id_client_id": "an offline case sent again answers with the stored one",
    "uq_dispute_parties_dispute_id_position": "the service numbers a case's parties when it stores them",
    "uq_dispute_mediators_dispute_id_volunteer_id": "a mediator named again is added once (ON CONFLICT)",
    "uq_dispute_mediators_dispute_id_user_id": "a mediator named again is added once (ON CONFLICT)",
    "uq_dispute_followups_one_pending": "a visit is scheduled on resolution under the dispute's row lock; "
    "a reopen cancels the one still to make first",
    "uq_training_attendance_training_id_volunteer_id": "enrolment adds a training's rows with ON CONFLICT",
}


def unique_keys() -> set[str]:
    names = set()
    for table in metadata.tables.values():
        names |= {str(c.name) for c in table.constraints if isinstance(c, UniqueConstraint)}
        names |= {str(index.name) for index in table.indexes if index.unique}
    return names


def test_every_unique_key_is_declared_as_a_clash_or_explained():
    keys = unique_keys()
    undeclared = keys - set(conflicts.CLASHES) - set(NOT_A_CLASH)
    assert not undeclared, "declare what breaking these means (yijing.conflicts.register) or explain here"
    assert set(NOT_A_CLASH) <= keys, "explained keys that no longer exist"


@pytest.mark.parametrize("name", sorted(conflicts.CLASHES))
def test_each_declared_clash_names_a_unique_key_and_values_of_its_table(name):
    clash = conflicts.CLASHES[name]
    key = conflicts.unique_key(name)
    assert key is not None, f"{name} is no unique constraint or index of the schema"
    fields = {field for _, field, _, _ in string.Formatter().parse(clash.detail) if field}
    columns = set(key.table.c.keys())
    assert fields <= columns | ({"holder"} if clash.holder else set()), clash.detail
    if clash.holder:
        assert "id" in columns, f"{key.table.name} has no id to name the record holding the value"


async def test_a_clash_undoes_only_its_own_write_and_the_transaction_goes_on(session_factory, world):
    async with session_scope(session_factory) as session:
        site = await session.get(Site, world.own.site.id)
        station = await session.get(Station, world.own.station.id)
        assert site is not None
        assert station is not None
        async with conflicts.changing(session, site):
            site.kind = SiteKind.PLAZA
        with pytest.raises(StationNameTaken) as raised:
            async with conflicts.changing(session, station):
                station.name = world.other.station.name
        assert repr(world.other.station.name) in raised.value.detail
        await session.refresh(station)
        assert station.name == world.own.station.name
    async with session_factory() as session:
        site = await session.get(Site, world.own.site.id)
        assert site is not None
        assert site.kind is SiteKind.PLAZA


async def test_a_commit_that_breaks_a_declared_key_raises_its_domain_error(session_factory, world):
    """A job or a command (session_scope) gets the domain error, not an IntegrityError; nothing changes."""

    async def rename() -> None:
        async with session_scope(session_factory) as session:
            station = await session.get(Station, world.own.station.id)
            assert station is not None
            station.name = world.other.station.name  # reaches the database only at the commit

    with pytest.raises(StationNameTaken):
        await rename()
    async with session_factory() as session:
        station = await session.get(Station, world.own.station.id)
        assert station is not None
        assert station.name == world.own.station.name
