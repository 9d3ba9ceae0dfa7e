from __future__ import annotations

from yijing.errors import NotFound


class CalendarFeedNotFound(NotFound):
    code = "calendar_feed_not_found"
