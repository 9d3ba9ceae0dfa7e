"""Where the figures come from: each source is one SQL query that yields, for chosen stations and days (or
all days), what its figures add up — one row per record counted (an amount of 1) or summed, on its station,
site, station-local day, metric and dimension. A figure is the sum of its rows (a sum of zero is no
figure); the grouping is the caller's (yijing.stats.rollups), so that the nightly check can add the stored
figures to the same grouping and compare them with the records in one pass. A domain that lands later
(rental households, trainings) adds its source here and is counted from then on.

Every query yields the columns ``station_id, site_id, day, metric, dimension, amount`` and takes the bound
parameters ``:stations`` (station ids) and ``:days`` (dates, or NULL for every day).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RollupSource:
    name: str
    metrics: tuple[str, ...]
    # What the figures add up, as described above.
    amounts: str
    # The first day the source has data for, per station (earlier days are missing, never zero).
    first_day: str
    # A snapshot (counted as it is now) can only be taken for today: past days keep what was taken then.
    snapshot: bool = False


def _local_day(column: str) -> str:
    return f"({column} AT TIME ZONE s.timezone)::date"


_IN_DAYS = "(CAST(:days AS date[]) IS NULL OR {day} = ANY(CAST(:days AS date[])))"

# Each incident counts once under its class and once under each of its tags: one read of the table.
INCIDENTS = RollupSource(
    name="incidents",
    metrics=("incidents",),
    amounts=f"""
        SELECT i.station_id, i.site_id, i.occurred_on AS day, 'incidents' AS metric, d.dimension, 1 AS amount
        FROM incidents i CROSS JOIN LATERAL (
            SELECT 'class:' || i.class_code UNION ALL SELECT 'tag:' || tag FROM unnest(i.tags) AS tag
        ) AS d (dimension)
        WHERE i.station_id = ANY(:stations) AND {_IN_DAYS.format(day="i.occurred_on")}
    """,
    # A station's earliest day from the index, one probe per station (a GROUP BY would read every entry).
    first_day="SELECT s.id, (SELECT min(i.occurred_on) FROM incidents i WHERE i.station_id = s.id) "
    "FROM stations s WHERE s.id = ANY(:stations)",
)


def _daily_count(table: str, metric: str, column: str, dimension: str, condition: str) -> str:
    """One metric of a table whose rows carry station and site (as alias ``r``), on the station-local day
    of ``column``."""
    day = _local_day(f"r.{column}")
    return f"""
        SELECT r.station_id, r.site_id, {day} AS day, '{metric}' AS metric, {dimension} AS dimension,
               1 AS amount
        FROM {table} r JOIN stations s ON s.id = r.station_id
        WHERE r.station_id = ANY(:stations) AND {condition} AND {_IN_DAYS.format(day=day)}
    """


HAZARDS = RollupSource(
    name="hazards",
    metrics=("hazards_found", "hazards_eliminated", "hazards_closed_not_fixed"),
    amounts=" UNION ALL ".join(
        (
            _daily_count("hazards", "hazards_found", "created_at", "'category:' || r.category", "TRUE"),
            _daily_count(
                "hazards",
                "hazards_eliminated",
                "eliminated_at",
                "'category:' || r.category",
                "r.status = 'eliminated'",
            ),
            _daily_count(
                "hazards",
                "hazards_closed_not_fixed",
                "closed_at",
                "'outcome:' || r.status",
                "r.status IN ('duplicate', 'not_hazard', 'referred')",
            ),
        )
    ),
    first_day=f"SELECT h.station_id, min({_local_day('h.created_at')}) FROM hazards h "
    "JOIN stations s ON s.id = h.station_id WHERE h.station_id = ANY(:stations) GROUP BY h.station_id",
)

VOLUNTEERS_JOINED = RollupSource(
    name="volunteers_joined",
    metrics=("volunteers_joined",),
    amounts=f"""
        SELECT station_id, site_id, joined_on AS day, 'volunteers_joined' AS metric,
               'source:' || source AS dimension, 1 AS amount
        FROM volunteers
        WHERE station_id = ANY(:stations) AND status <> 'applied' AND {_IN_DAYS.format(day="joined_on")}
    """,
    first_day="SELECT station_id, min(joined_on) FROM volunteers WHERE station_id = ANY(:stations) "
    "GROUP BY station_id",
)

# How many serve now, by source: a count of the present, taken once a day.
VOLUNTEERS_ACTIVE = RollupSource(
    name="volunteers_active",
    metrics=("volunteers_active",),
    amounts=f"""
        SELECT v.station_id, v.site_id, {_local_day("now()")} AS day, 'volunteers_active' AS metric,
               'source:' || v.source AS dimension, 1 AS amount
        FROM volunteers v JOIN stations s ON s.id = v.station_id
        WHERE v.station_id = ANY(:stations) AND v.status = 'active'
          AND {_IN_DAYS.format(day=_local_day("now()"))}
    """,
    first_day=f"SELECT s.id, {_local_day('now()')} FROM stations s WHERE s.id = ANY(:stations)",
    snapshot=True,
)

CAPTAIN_WEEKS = RollupSource(
    name="captain_weeks",
    metrics=("captain_weeks_served",),
    amounts=f"""
        SELECT g.station_id, g.site_id, w.week_start AS day, 'captain_weeks_served' AS metric,
               '' AS dimension, 1 AS amount
        FROM captain_weeks w JOIN groups g ON g.id = w.group_id
        WHERE g.station_id = ANY(:stations) AND w.starts_at <= now() AND {_IN_DAYS.format(day="w.week_start")}
    """,
    first_day="SELECT g.station_id, min(w.week_start) FROM captain_weeks w "
    "JOIN groups g ON g.id = w.group_id WHERE g.station_id = ANY(:stations) GROUP BY g.station_id",
)

_PATROL_DAY = _local_day("p.planned_start")
# Settled patrols, counted on the station-local day they were planned to start (a night's patrol past
# midnight is that evening's): held and missed, members' verified minutes (a day of none has no figure), and
# checkpoint visits — planned (every checkpoint of a settled patrol's route) and covered (reached, in time or
# late). Coverage % is covered / planned.
PATROLS = RollupSource(
    name="patrols",
    metrics=("patrols_held", "patrols_missed", "patrol_minutes", "checkpoint_visits", "checkpoints_covered"),
    amounts=f"""
        WITH settled AS (
            SELECT p.id, p.station_id, p.site_id, p.status, {_PATROL_DAY} AS day
            FROM patrols p JOIN stations s ON s.id = p.station_id
            WHERE p.station_id = ANY(:stations) AND p.settled_at IS NOT NULL
              AND {_IN_DAYS.format(day=_PATROL_DAY)}
        )
        SELECT station_id, site_id, day,
               CASE status WHEN 'completed' THEN 'patrols_held' ELSE 'patrols_missed' END AS metric,
               '' AS dimension, 1 AS amount
        FROM settled WHERE status IN ('completed', 'missed')
        UNION ALL
        SELECT t.station_id, t.site_id, t.day, 'patrol_minutes', '', m.verified_minutes
        FROM settled t JOIN patrol_members m ON m.patrol_id = t.id
        UNION ALL
        SELECT t.station_id, t.site_id, t.day, figure.metric, '', 1
        FROM settled t JOIN patrol_checkpoint_results r ON r.patrol_id = t.id
        CROSS JOIN LATERAL (
            VALUES ('checkpoint_visits', TRUE), ('checkpoints_covered', r.outcome <> 'missed')
        ) AS figure (metric, counted)
        WHERE figure.counted
    """,
    first_day=f"SELECT p.station_id, min({_PATROL_DAY}) FROM patrols p "
    "JOIN stations s ON s.id = p.station_id WHERE p.station_id = ANY(:stations) GROUP BY p.station_id",
)

_LOG_DAY = _local_day("l.occurred_at")
# Safety persuasion (安全劝导) and outreach (安全宣传) entries of patrol logs, by topic, on the station-local
# day they happened, at the patrol's site.
PATROL_LOGS = RollupSource(
    name="patrol_logs",
    metrics=("persuasions", "outreach"),
    amounts=f"""
        SELECT l.station_id, p.site_id, {_LOG_DAY} AS day,
               CASE l.kind WHEN 'persuasion' THEN 'persuasions' ELSE 'outreach' END AS metric,
               'topic:' || l.topic AS dimension, 1 AS amount
        FROM patrol_logs l JOIN patrols p ON p.id = l.patrol_id JOIN stations s ON s.id = l.station_id
        WHERE l.station_id = ANY(:stations) AND l.kind IN ('persuasion', 'outreach')
          AND {_IN_DAYS.format(day=_LOG_DAY)}
    """,
    first_day=f"SELECT l.station_id, min({_LOG_DAY}) FROM patrol_logs l "
    "JOIN stations s ON s.id = l.station_id WHERE l.station_id = ANY(:stations) GROUP BY l.station_id",
)


# Disputes reported (by kind), resolved (by outcome) and escalated (by destination), each on the
# station-local day it happened.
DISPUTES = RollupSource(
    name="disputes",
    metrics=("disputes_reported", "disputes_resolved", "disputes_escalated"),
    amounts=" UNION ALL ".join(
        (
            _daily_count("disputes", "disputes_reported", "reported_at", "'kind:' || r.kind", "TRUE"),
            _daily_count(
                "disputes",
                "disputes_resolved",
                "resolved_at",
                "'outcome:' || r.outcome",
                "r.status = 'resolved'",
            ),
            _daily_count(
                "disputes",
                "disputes_escalated",
                "closed_at",
                "'to:' || r.escalated_to",
                "r.status = 'escalated'",
            ),
        )
    ),
    first_day=f"SELECT d.station_id, min({_local_day('d.reported_at')}) FROM disputes d "
    "JOIN stations s ON s.id = d.station_id WHERE d.station_id = ANY(:stations) GROUP BY d.station_id",
)

_TRAINING_DAY = _local_day("t.starts_at")
# Settled trainings on the station-local day they started (a session past midnight is that evening's), by
# mode, for the station as a whole (one session may train several sites); their present or late
# attendances, by status, at the site each counts for; and the volunteers trained at required ones, each
# on the day of their first of the month, so that a month's sum is the compliance endpoint's `trained`
# (its rate divides by the volunteers who owed the month, which no sum of days gives).
TRAININGS = RollupSource(
    name="trainings",
    metrics=("trainings_held", "training_attendances", "volunteers_trained"),
    amounts=f"""
        WITH settled AS (
            SELECT t.id, t.station_id, t.mode, {_TRAINING_DAY} AS day
            FROM trainings t JOIN stations s ON s.id = t.station_id
            WHERE t.station_id = ANY(:stations) AND t.status = 'settled'
              AND {_IN_DAYS.format(day=_TRAINING_DAY)}
        ), firsts AS (
            SELECT DISTINCT ON (a.volunteer_id, date_trunc('month', {_TRAINING_DAY}))
                   t.station_id, a.site_id, {_TRAINING_DAY} AS day
            FROM trainings t JOIN stations s ON s.id = t.station_id
            JOIN training_attendance a ON a.training_id = t.id
            WHERE t.station_id = ANY(:stations) AND t.status = 'settled' AND t.required
              AND a.status IN ('present', 'late')
              AND (CAST(:days AS date[]) IS NULL OR date_trunc('month', {_TRAINING_DAY}) = ANY(
                  SELECT date_trunc('month', asked) FROM unnest(CAST(:days AS date[])) AS asked))
            ORDER BY a.volunteer_id, date_trunc('month', {_TRAINING_DAY}), t.starts_at
        )
        SELECT station_id, CAST(NULL AS uuid) AS site_id, day, 'trainings_held' AS metric,
               'mode:' || mode AS dimension, 1 AS amount
        FROM settled
        UNION ALL
        SELECT t.station_id, a.site_id, t.day, 'training_attendances', 'status:' || a.status, 1
        FROM settled t JOIN training_attendance a ON a.training_id = t.id
        WHERE a.status IN ('present', 'late')
        UNION ALL
        SELECT station_id, site_id, day, 'volunteers_trained', '', 1
        FROM firsts
        WHERE {_IN_DAYS.format(day="day")}
    """,
    first_day=f"SELECT t.station_id, min({_TRAINING_DAY}) FROM trainings t "
    "JOIN stations s ON s.id = t.station_id WHERE t.station_id = ANY(:stations) GROUP BY t.station_id",
)

SOURCES = {
    source.name: source
    for source in (
        INCIDENTS,
        HAZARDS,
        VOLUNTEERS_JOINED,
        VOLUNTEERS_ACTIVE,
        CAPTAIN_WEEKS,
        PATROLS,
        PATROL_LOGS,
        DISPUTES,
        TRAININGS,
    )
}
# Which source each metric comes from.
METRIC_SOURCES = {metric: source for source in SOURCES.values() for metric in source.metrics}
