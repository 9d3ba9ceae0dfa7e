"""Access declarations: every route states who may call it, with ``Depends(Access(...))`` or
``Depends(PUBLIC)``. The declaration authenticates the caller (bearer token or ``X-API-Key``), checks the
role or API scope, and hands the handler an ``Actor``. The access-matrix test walks the route table and fails
for any route without a declaration."""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from yijing.access import Actor, ApiScope, Principal, Role
from yijing.errors import Forbidden, Unauthenticated
from yijing.identity import auth
from yijing_api.deps import RedisDep, SessionDep, SettingsDep

bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    scheme_name="PhonePassword",
    description="Sign in with a mainland mobile number as the username and the account's password.",
    auto_error=False,
)
api_key_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="A machine client's key (`yj_…`), created by a county admin, with scopes.",
    auto_error=False,
)


def _request_actor(request: Request, principal: Principal | None) -> Actor:
    """The caller as an actor: ``principal``, or, for a public route, the anonymous caller (no station)."""
    state = request.scope.get("state", {})
    request_id, client_ip = state.get("request_id"), request.client.host if request.client else None
    if principal is None:
        return Actor.anonymous(request_id, client_ip)
    return Actor(principal, request_id, client_ip)


@dataclass(frozen=True, eq=False)
class Public:
    """Anyone may call the route, signed in or not."""

    async def __call__(self, request: Request) -> Actor:
        return _request_actor(request, None)


PUBLIC = Public()


@dataclass(frozen=True, eq=False)
class Access:
    """Signed-in users with one of ``roles``, and API keys with one of ``api_scopes``. With
    ``api_key_as_bearer`` an API key may also come as the bearer token (told from an access token by its
    ``yj_`` form), for clients that only send ``Authorization: Bearer`` (Prometheus); elsewhere a key as a
    bearer token is refused like any invalid token."""

    roles: frozenset[Role] = frozenset()
    api_scopes: frozenset[ApiScope] = field(default_factory=frozenset)
    api_key_as_bearer: bool = False

    async def __call__(
        self,
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        redis: RedisDep,
        token: Annotated[str | None, Depends(bearer)],
        api_key: Annotated[str | None, Depends(api_key_header)],
    ) -> Actor:
        if token and self.api_key_as_bearer and auth.split_api_key(token) is not None:
            token, api_key = None, token
        if token:
            principal = await auth.authenticate_token(session, settings, token)
            if principal.role not in self.roles:
                role_zh = principal.role.name_zh if principal.role else "该账号"
                raise Forbidden(f"the role {principal.role} may not do this", zh=f"{role_zh}无权执行此操作")
        elif api_key:
            principal, key = await auth.authenticate_api_key(session, api_key)
            if await auth.limit_api_key(session, redis, settings, key):
                # Counted in PostgreSQL (Redis is unavailable): keep the count whatever the request does
                # next. Nothing but authentication has happened in this transaction yet.
                await session.commit()
            if not principal.api_scopes & self.api_scopes:
                needed = ", ".join(sorted(self.api_scopes)) or "a signed-in user"
                needed_zh = "、".join(sorted(self.api_scopes)) or "已登录用户"
                raise Forbidden(
                    f"this API key lacks the scope for this (needs: {needed})",
                    zh=f"该 API 密钥缺少执行此操作的权限范围（需要：{needed_zh}）",
                )
        else:
            raise Unauthenticated(
                "sign in (bearer token) or send an API key (X-API-Key)",
                zh="请先登录（Bearer 令牌）或提供 API 密钥（X-API-Key）",
            )
        return _request_actor(request, principal)
