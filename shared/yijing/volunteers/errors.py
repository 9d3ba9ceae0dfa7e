from __future__ import annotations

from yijing.conflicts import Clash, register
from yijing.errors import Conflict, NotFound


class VolunteerNotFound(NotFound):
    code = "volunteer_not_found"


class VolunteerExists(Conflict):
    """The person (by ID-card number) is already a volunteer of the station: the problem names the record."""

    code = "volunteer_exists"


class BadgeNumberTaken(Conflict):
    code = "badge_number_taken"


class AccountAlreadyLinked(Conflict):
    code = "account_already_linked"


class ImportNotFound(NotFound):
    code = "volunteer_import_not_found"


class ImportAlreadyProcessed(Conflict):
    """The import's job ran already: its file was dropped then."""

    code = "volunteer_import_processed"


register(
    {
        "uq_volunteers_station_id_id_card_fingerprint": Clash(
            VolunteerExists,
            "this person (by ID-card number) is already volunteer {holder} of the station",
            holder="existing_volunteer_id",
            zh="此人（按身份证号）已是本派出所的义警 {holder}",
        ),
        "uq_volunteers_station_id_badge_number": Clash(
            BadgeNumberTaken,
            "badge number {badge_number} belongs to volunteer {holder}",
            holder="existing_volunteer_id",
            zh="证号 {badge_number} 已属于义警 {holder}",
        ),
        "uq_volunteers_user_id": Clash(
            AccountAlreadyLinked,
            "that account is linked to another volunteer already",
            zh="该账号已关联其他义警",
        ),
    }
)
