from __future__ import annotations

from yijing.conflicts import Clash, register
from yijing.errors import Conflict, Forbidden, NotFound, Unauthenticated


class UserNotFound(NotFound):
    code = "user_not_found"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class PhoneTaken(Conflict):
    code = "phone_taken"


class IdCardTaken(Conflict):
    code = "id_card_taken"


class RoleNotGrantable(Forbidden):
    code = "role_not_grantable"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    keeps_changes = True  # the failed attempt's audit event


class InvalidToken(Unauthenticated):
    code = "invalid_token"


class RefreshTokenReused(Unauthenticated):
    code = "refresh_token_reused"
    keeps_changes = True  # the revoked session


class AccountDisabled(Unauthenticated):
    code = "account_disabled"


register(
    {
        "uq_users_phone_fingerprint": Clash(
            PhoneTaken, "another user has this phone number", zh="该手机号已被其他用户使用"
        ),
        "uq_users_id_card_fingerprint": Clash(
            IdCardTaken, "another user has this ID-card number", zh="该身份证号已被其他用户使用"
        ),
    }
)
