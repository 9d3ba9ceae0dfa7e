"""Signing in and out (OAuth2 password flow: the docs' Authorize button works with phone and password)."""

from typing import Annotated

from fastapi import Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from yijing.access import EVERY_ROLE, Actor
from yijing.identity import auth
from yijing.identity.schemas import RefreshRequest, TokenPair
from yijing_api.auth import PUBLIC, Access
from yijing_api.deps import ProtectorDep, SessionDep, SessionFactoryDep, SettingsDep
from yijing_api.openapi import problem_example, problem_with_example
from yijing_api.problems import problem_responses
from yijing_api.routing import Router

router = Router(prefix="/auth", tags=["auth"])

_LOCKED_OUT_EXAMPLE = problem_example(
    "该手机号登录失败次数过多，暂时锁定：Retry-After 秒后再试",
    429,
    "too_many_requests",
    "请求过于频繁",
    "该手机号登录失败次数过多，请稍后再试",
    "/api/v1/auth/token",
    retry_after=840,
)

_WRONG_PASSWORD_EXAMPLE = problem_example(
    "手机号或密码错误",
    401,
    "invalid_credentials",
    "需要登录认证",
    "手机号或密码错误",
    "/api/v1/auth/token",
)
_REFRESH_REUSED_EXAMPLE = problem_example(
    "已用过的刷新令牌再次出现：整个登录会话就此结束",
    401,
    "refresh_token_reused",
    "需要登录认证",
    "该刷新令牌已被使用过，本次登录会话已被注销",
    "/api/v1/auth/refresh",
)


@router.post(
    "/token",
    operation_id="auth_token",
    summary="Sign in with phone number and password",
    description=(
        "OAuth2 password flow: form fields `username` (the mainland mobile number) and `password`. Returns a "
        "short-lived access token and a refresh token. Repeated failures for one number lock it for a while "
        "(429 with Retry-After)."
    ),
    responses={
        **problem_responses(422),
        **problem_with_example(_WRONG_PASSWORD_EXAMPLE),
        **problem_with_example(_LOCKED_OUT_EXAMPLE),
    },
)
async def sign_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    factory: SessionFactoryDep,
    settings: SettingsDep,
    protector: ProtectorDep,
    actor: Annotated[Actor, Depends(PUBLIC)],
) -> TokenPair:
    return await auth.sign_in(session, factory, settings, protector, actor, form.username, form.password)


@router.post(
    "/refresh",
    operation_id="auth_refresh",
    summary="Trade a refresh token for new tokens",
    description=(
        "Each refresh token works once: the answer carries its successor. Presenting a used one again ends "
        "the whole sign-in session (someone else may hold a copy)."
    ),
    responses={**problem_responses(422), **problem_with_example(_REFRESH_REUSED_EXAMPLE)},
)
async def refresh(
    data: RefreshRequest, session: SessionDep, settings: SettingsDep, actor: Annotated[Actor, Depends(PUBLIC)]
) -> TokenPair:
    return await auth.refresh(session, settings, actor, data.refresh_token)


@router.post(
    "/logout",
    operation_id="auth_logout",
    summary="End the current sign-in session",
    description="The access token and every refresh token of this session stop working at once.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403),
)
async def logout(session: SessionDep, actor: Annotated[Actor, Depends(Access(EVERY_ROLE))]) -> None:
    await auth.sign_out(session, actor)
