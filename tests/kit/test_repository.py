"""The repository kit: a get within reach, a keyset page at its edges, optional equality filters."""

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import col

from yijing.access import StationScope
from yijing.errors import InvalidInput
from yijing.hazards.models import Hazard
from yijing.kit import repository as kit
from yijing.kit.pagination import PageParams, page_of
from yijing.org.models import Station


async def test_a_get_finds_a_record_only_within_reach(world, session_factory):
    own, other = world.own.station.id, world.other.station.id
    reach = StationScope(frozenset({own})).clause(Station.id)
    async with session_factory() as session:
        found = await kit.get(session, Station, own, reach, for_update=True)
        assert found is not None
        assert found.id == own
        assert await kit.get(session, Station, other, reach) is None
        assert await kit.get(session, Station, other) is not None  # no reach given: every record


async def test_a_lean_read_within_a_scope_finds_a_record_only_within_it(world, session_factory):
    """``read_within`` builds its statement once per query and scope: the same answers as ``read``."""
    own_hazard, other_hazard = world.own.hazard, world.other.hazard
    assert own_hazard is not None
    assert other_hazard is not None
    shown = select(col(Hazard.id), col(Hazard.station_id))
    own = StationScope(frozenset({world.own.station.id}))
    both = StationScope(frozenset({world.own.station.id, world.other.station.id}))
    async with session_factory() as session:
        for scope in (own, both, StationScope.everywhere(), StationScope.nowhere()):
            for hazard in (own_hazard, other_hazard):
                within = await kit.read_within(session, shown, Hazard, hazard.id, scope)
                read = await kit.read(
                    session, shown.where(scope.clause(Hazard.station_id)), Hazard.id, hazard.id
                )
                assert within == read
                assert (within is not None) == scope.reaches(hazard.station_id)
        # Built once for each query and scope: the second read of a scope reuses the first's statement.
        assert kit._by_id_within(shown, Hazard, own.stations) is kit._by_id_within(
            shown, Hazard, own.stations
        )


async def test_whether_a_record_is_within_reach_is_read_by_its_id_alone(world, session_factory):
    """``reaches``: a record out of reach is as one that does not exist; its select is built once a model."""
    own_hazard, other_hazard = world.own.hazard, world.other.hazard
    assert own_hazard is not None
    assert other_hazard is not None
    own = StationScope(frozenset({world.own.station.id}))
    async with session_factory() as session:
        for scope in (own, StationScope.everywhere(), StationScope.nowhere()):
            for hazard in (own_hazard, other_hazard):
                reach = scope.clause(Hazard.station_id)
                assert await kit.reaches(session, Hazard, hazard.id, reach) == scope.reaches(
                    hazard.station_id
                )
        everywhere = StationScope.everywhere().clause(Hazard.station_id)
        assert not await kit.reaches(session, Hazard, world.own.station.id, everywhere)  # no such hazard
        assert await kit.reaches(session, Station, world.other.station.id, col(Station.id).is_not(None))
    assert kit._ids(Hazard) is kit._ids(Hazard)


async def page_ids(session, page: PageParams, *, newest_first: bool = False) -> tuple[list, str | None]:
    rows = await kit.fetch_page(session, select(Station), Station.id, page, newest_first=newest_first)
    result = page_of(rows, page.limit, lambda station: station.id)
    return result.items, result.next_cursor


@pytest.mark.parametrize("newest_first", [False, True])
async def test_keyset_pages_walk_every_record_once_in_order(world, session_factory, newest_first):
    async with session_factory() as session:
        everything = sorted((await session.scalars(select(col(Station.id)))).all(), reverse=newest_first)
        assert len(everything) >= 2
        seen, cursor = [], None
        while True:
            items, cursor = await page_ids(
                session, PageParams(limit=1, cursor=cursor), newest_first=newest_first
            )
            seen += items
            if cursor is None:
                break
        assert seen == everything
        # A page exactly as long as what is left is the last: no cursor to an empty page.
        items, cursor = await page_ids(session, PageParams(limit=len(everything)), newest_first=newest_first)
        assert (items, cursor) == (everything, None)


async def test_a_cursor_this_api_did_not_issue_is_refused_as_the_cursor_parameter(session_factory):
    async with session_factory() as session:
        with pytest.raises(InvalidInput) as refused:
            # Past the schema's pattern (which only lets through what decodes): two bytes, not a UUID.
            await page_ids(session, PageParams.model_construct(limit=50, cursor="abc"))
    assert refused.value.extra["errors"][0]["field"] == "query.cursor"


def test_a_page_size_is_a_whole_number_within_bounds():
    assert PageParams.model_validate({"limit": "7"}).limit == 7
    for limit in ("2.0", "0", "201", "true"):
        with pytest.raises(ValidationError):
            PageParams.model_validate({"limit": limit})


def test_equality_filters_skip_what_is_not_given_but_keep_false():
    conditions = kit.equal((Station.name, None), (Station.division_code, "350102"), (Station.timezone, False))
    assert [str(condition) for condition in conditions] == [
        "stations.division_code = :division_code_1",
        "stations.timezone = :timezone_1",
    ]


async def test_a_lists_filter_takes_one_value_unless_it_is_a_list_and_unknown_ones_are_ignored(admin_client):
    once = await admin_client.get("/api/v1/volunteers?q=a&q=b")
    assert once.status_code == 422
    assert once.json()["errors"] == [{"field": "query.q", "message": "不能重复提供", "code": "repeated"}]
    assert (await admin_client.get("/api/v1/hazards?status=reported&status=verified")).status_code == 200
    assert (await admin_client.get("/api/v1/hazards?status=nonsense")).json()["errors"][0]["field"] == (
        "query.status.0"
    )
    assert (await admin_client.get("/api/v1/sites?no_such_filter=1")).status_code == 200
