"""Dependencies every router uses, as short annotated aliases. All are ``async``: FastAPI runs a plain
``def`` dependency in its thread pool, a hop per dependency per request for what is an attribute read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from yijing.db import SessionFactory, read_only_sessions, session_scope
from yijing.outbox import service as outbox
from yijing.personal import PersonalDataProtector, protector_for
from yijing.redis import GuardedRedis
from yijing.settings import Settings
from yijing.storage import AttachmentStore

# The methods that only read (see get_session and yijing_api.middleware's retry).
READ_METHODS = frozenset({"GET", "HEAD"})


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session_factory(request: Request) -> SessionFactory:
    factory: SessionFactory = request.app.state.session_factory
    return factory


async def get_redis(request: Request) -> GuardedRedis:
    redis: GuardedRedis = request.app.state.redis
    return redis


async def get_session(
    request: Request,
    background: BackgroundTasks,
    factory: Annotated[SessionFactory, Depends(get_session_factory)],
    redis: Annotated[GuardedRedis, Depends(get_redis)],
) -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed after the handler returns (before the response is sent, so a
    failed commit is an error answer, never a lost write: a declared unique clash its 409, see
    ``yijing.conflicts``, anything else a 500), rolled back when it raises. Jobs the transaction emitted
    are relayed after the response; if Redis is down they wait in the outbox for the worker's relay.
    A read (GET, HEAD) runs its statements without a transaction around them: no BEGIN and COMMIT round
    trips for what only reads."""
    if request.method in READ_METHODS:
        factory = read_only_sessions(factory)
    async with session_scope(factory) as session:
        yield session
    emitted = outbox.take_emitted(session)
    if emitted:
        background.add_task(outbox.relay_after_commit, factory, redis, emitted)


async def get_store(request: Request) -> AttachmentStore:
    store: AttachmentStore = request.app.state.attachment_store
    return store


async def get_protector(settings: Annotated[Settings, Depends(get_settings_dep)]) -> PersonalDataProtector:
    return protector_for(settings.personal_data_key)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ProtectorDep = Annotated[PersonalDataProtector, Depends(get_protector)]
# scope="function": the commit happens when the handler returns, not after the response is sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
RedisDep = Annotated[GuardedRedis, Depends(get_redis)]
StoreDep = Annotated[AttachmentStore, Depends(get_store)]
SessionFactoryDep = Annotated[SessionFactory, Depends(get_session_factory)]
