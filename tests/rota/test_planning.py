"""The rota's calendar and its planner, as pure functions: wall-clock weeks across DST, and the queue's
fairness rules, by example and by property over random membership histories."""

import itertools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from yijing.rota.models import CaptainSource
from yijing.rota.planner import Member, plan
from yijing.rota.weeks import Handoff

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 1, 5, 0, 0, tzinfo=SHANGHAI)  # a Monday


def test_a_shanghai_week_runs_from_monday_midnight_to_monday_midnight():
    handoff = Handoff(0, time(0, 0), SHANGHAI)
    at = datetime(2023, 10, 31, 23, 30, tzinfo=SHANGHAI)  # a Tuesday night
    assert handoff.week_start(at) == date(2023, 10, 30)
    week = handoff.week(date(2023, 10, 30))
    assert week.starts_at == datetime(2023, 10, 29, 16, 0, tzinfo=UTC)
    assert week.ends_at - week.starts_at == timedelta(days=7)
    # Exactly at the handoff the new week has begun; a second before, the old one runs.
    assert handoff.week_start(week.starts_at) == date(2023, 10, 30)
    assert handoff.week_start(week.starts_at - timedelta(seconds=1)) == date(2023, 10, 23)


def test_berlin_handoffs_keep_their_wall_clock_time_across_daylight_saving():
    handoff = Handoff(0, time(9, 0), BERLIN)  # Mondays 09:00
    spring = handoff.week(date(2026, 3, 23))  # clocks go forward on Sunday 29 March
    autumn = handoff.week(date(2026, 10, 19))  # and back on Sunday 25 October
    assert spring.ends_at - spring.starts_at == timedelta(hours=167)
    assert autumn.ends_at - autumn.starts_at == timedelta(hours=169)
    for week in (spring, autumn):
        for edge in (week.starts_at, week.ends_at):
            assert edge.astimezone(BERLIN).time() == time(9, 0)
            assert edge.astimezone(BERLIN).weekday() == 0
    # A handoff in the hour that does not exist (02:30 on the spring Sunday) falls an hour later.
    skipped = Handoff(6, time(2, 30), BERLIN).instant(date(2026, 3, 29))
    assert skipped.astimezone(BERLIN).time() == time(3, 30)


def weeks(count: int, start: date = date(2026, 1, 5)):
    handoff = Handoff(0, time(0, 0), SHANGHAI)
    return [handoff.week(start + timedelta(weeks=index)) for index in range(count)]


def members(count: int, joined: datetime = T0 - timedelta(days=1)) -> list[Member]:
    return [Member(uuid.UUID(int=index + 1), joined, None, index, True) for index in range(count)]


def order(picks) -> list[int]:
    return [pick.volunteer_id.int for pick in picks]


def test_ten_members_each_serve_once_in_ten_weeks_in_join_order():
    picks = plan(weeks(20), members(10), {}, {})
    assert order(picks) == list(range(1, 11)) * 2
    assert {pick.source for pick in picks} == {CaptainSource.ROTATION}


def test_a_newcomer_serves_next_and_nobody_else_changes_order():
    group = members(5)
    before = order(plan(weeks(12), group, {}, {}))
    newcomer = Member(uuid.UUID(int=99), weeks(3)[2].starts_at + timedelta(hours=5), None, 0, True)
    after = order(plan(weeks(12), [*group, newcomer], {}, {}))
    assert [who for who in after if who != 99] == before[: len(after) - after.count(99)]
    # Never given a turn, the newcomer comes after those still waiting for their first turn (4 and 5,
    # who joined earlier) and before anyone's second turn.
    assert after[:9] == [1, 2, 3, 4, 5, 99, 1, 2, 3]


def test_a_leaver_drops_out_and_the_others_keep_their_order():
    group = members(5)
    left = weeks(4)[1].ends_at  # leaves during the second week
    shrunk = [*group[:2], Member(group[2].volunteer_id, group[2].joined_at, left, 2, True), *group[3:]]
    after = order(plan(weeks(10), shrunk, {}, {}))
    assert after[:2] == [1, 2]
    assert 3 not in after[2:]
    assert after[2:] == [4, 5, 1, 2, 4, 5, 1, 2]


def test_an_unavailable_member_keeps_their_place_and_serves_at_their_next_free_week():
    group = members(4)
    calendar = weeks(8)
    away = {uuid.UUID(int=2): [(calendar[1].start, calendar[2].last_day)]}  # weeks 2 and 3
    assert order(plan(calendar, group, away, {})) == [1, 3, 4, 2, 1, 3, 4, 2]


def test_when_nobody_is_available_the_week_falls_back_to_whose_turn_it_is():
    group = members(2)
    calendar = weeks(2)
    away = {member.volunteer_id: [(calendar[0].start, calendar[0].last_day)] for member in group}
    picks = plan(calendar, group, away, {})
    assert [(pick.volunteer_id.int, pick.source) for pick in picks] == [
        (1, CaptainSource.FALLBACK),
        (2, CaptainSource.ROTATION),
    ]


def test_an_inactive_member_is_skipped_and_a_group_of_nobody_has_no_weeks():
    group = members(3)
    group[0] = Member(group[0].volunteer_id, group[0].joined_at, None, 0, False)
    assert order(plan(weeks(4), group, {}, {})) == [2, 3, 2, 3]
    assert plan(weeks(4), [], {}, {}) == []


def test_history_continues_the_queue():
    group = members(3)
    history = {uuid.UUID(int=1): T0 - timedelta(weeks=2), uuid.UUID(int=2): T0 - timedelta(weeks=1)}
    # 3 never had a turn; then 1 (two weeks ago) and 2 (last week).
    assert order(plan(weeks(3), group, {}, history)) == [3, 1, 2]


WEEKS = 16


@st.composite
def histories(draw):
    """Random members joining and leaving at random instants, some suspended, some away for a while."""
    count = draw(st.integers(min_value=0, max_value=8))
    span = WEEKS * 7 * 24
    people = []
    away = {}
    calendar = weeks(WEEKS)
    for index in range(count):
        joined = T0 + timedelta(hours=draw(st.integers(-200, span)))
        left = draw(st.one_of(st.none(), st.integers(0, span).map(lambda hours: T0 + timedelta(hours=hours))))
        if left is not None and left < joined:
            joined, left = left, joined
        volunteer = uuid.UUID(int=index + 1)
        people.append(Member(volunteer, joined, left, index, draw(st.booleans()) or index % 3 != 0))
        if draw(st.booleans()):
            first = draw(st.integers(0, WEEKS - 1))
            length = draw(st.integers(1, 4))
            away[volunteer] = [(calendar[first].start, calendar[min(first + length, WEEKS - 1)].last_day)]
    return people, away


def _available(member, away, week):
    return all(end < week.start or start > week.last_day for start, end in away.get(member.volunteer_id, ()))


@settings(max_examples=300, deadline=None)
@given(histories())
def test_every_week_with_an_eligible_member_has_exactly_one_captain(history):
    people, away = history
    calendar = weeks(WEEKS)
    picks = plan(calendar, people, away, {})
    assert len({pick.week.start for pick in picks}) == len(picks)
    picked = {pick.week.start: pick for pick in picks}
    for week in calendar:
        eligible = [member for member in people if member.in_group_for(week)]
        assert (week.start in picked) == bool(eligible)
        if week.start in picked:
            chosen = picked[week.start]
            assert chosen.volunteer_id in {member.volunteer_id for member in eligible}
            available = [member for member in eligible if _available(member, away, week)]
            expected = CaptainSource.ROTATION if available else CaptainSource.FALLBACK
            assert chosen.source is expected


@settings(max_examples=300, deadline=None)
@given(histories())
def test_nobody_serves_twice_before_every_waiting_member_served_once(history):
    """Between two turns of one member, every member who can serve at the second (however recently they
    joined) has had a turn."""
    people, away = history
    calendar = weeks(WEEKS)
    picks = plan(calendar, people, away, {})
    by_id = {member.volunteer_id: member for member in people}
    turns: dict[uuid.UUID, list[int]] = {}
    for index, pick in enumerate(picks):
        turns.setdefault(pick.volunteer_id, []).append(index)
    for volunteer, indexes in turns.items():
        for first, second in itertools.pairwise(indexes):
            if picks[second].source is CaptainSource.FALLBACK:
                continue
            week = picks[second].week
            for other in people:
                if other.volunteer_id == volunteer:
                    continue
                if other.in_group_for(week) and _available(other, away, week):
                    served_between = any(
                        p.volunteer_id == other.volunteer_id for p in picks[first + 1 : second]
                    )
                    assert served_between, (by_id[volunteer], other)
