"""API keys for machine clients (other police systems): created by admins, shown once, revocable."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from yijing.access import Actor, ApiScope, StationScope
from yijing.audit import service as audit
from yijing.errors import InvalidInput
from yijing.identity import repository
from yijing.identity.auth import API_KEY_PREFIX
from yijing.identity.errors import ApiKeyNotFound
from yijing.identity.models import ApiKey
from yijing.identity.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyFilters, ApiKeyRead
from yijing.identity.tokens import digest, new_secret
from yijing.ids import utcnow
from yijing.kit.pagination import Page, PageParams, page_of
from yijing.kit.reads import LeanRow, Reader, by_value, read_model
from yijing.org import repository as org_repository
from yijing.org.errors import StationNotFound

_SCOPES = by_value(ApiScope)


def to_read(key: ApiKey | LeanRow, default_rate_limit: int) -> ApiKeyRead:
    """From a record or a lean row of its columns (:data:`yijing.identity.repository.API_KEY_SHOWN`), as
    stored: not validated again (a lean row's JSON lists are the driver's, already decoded)."""
    return read_model(
        ApiKeyRead,
        id=key.id,
        name=key.name,
        prefix=f"{API_KEY_PREFIX}_{key.prefix}",
        scopes=[_SCOPES[scope] for scope in key.scopes],
        station_ids=[uuid.UUID(station_id) for station_id in key.station_ids]
        if key.station_ids is not None
        else None,
        rate_limit_per_minute=key.rate_limit_per_minute or default_rate_limit,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
    )


async def create(
    session: AsyncSession, actor: Actor, data: ApiKeyCreate, default_rate_limit: int
) -> ApiKeyCreated:
    station_ids = sorted(set(data.station_ids)) if data.station_ids is not None else None
    for station_id in station_ids or []:
        if await org_repository.get_station(session, station_id, StationScope.everywhere()) is None:
            raise StationNotFound(f"no station {station_id}", zh=f"未找到派出所 {station_id}")
    if data.expires_at is not None and data.expires_at <= utcnow():
        raise InvalidInput(
            "expires_at is in the past",
            zh="expires_at 已是过去的时间",
            errors=[
                {
                    "field": "body.expires_at",
                    "message": "must be in the future",
                    "message_zh": "必须是将来的时间",
                    "code": "in_the_past",
                }
            ],
        )
    secret = new_secret()
    key = ApiKey(
        name=data.name,
        prefix=secrets.token_hex(6),
        secret_hash=digest(secret),
        scopes=sorted({scope.value for scope in data.scopes}),
        station_ids=[str(station_id) for station_id in station_ids] if station_ids is not None else None,
        rate_limit_per_minute=data.rate_limit_per_minute,
        expires_at=data.expires_at,
        created_by=actor.user_id,
    )
    await repository.save(session, key)
    await audit.record(
        session, actor, "api_key.create", target_type="api_key", target_id=key.id, station_id=None,
        changes=data.model_dump(mode="json", exclude_none=True),
    )  # fmt: skip
    read = to_read(key, default_rate_limit)
    return ApiKeyCreated(**read.model_dump(), key=f"{API_KEY_PREFIX}_{key.prefix}_{secret}")


async def read_key(reader: Reader, key_id: uuid.UUID, *, default_rate_limit: int) -> ApiKeyRead:
    """An API key as its read model (read lean)."""
    key = await repository.read_api_key(reader, key_id)
    if key is None:
        raise ApiKeyNotFound(f"no API key {key_id}", zh=f"未找到 API 密钥 {key_id}")
    return to_read(key, default_rate_limit)


async def list_keys(
    reader: Reader, filters: ApiKeyFilters, page: PageParams, *, default_rate_limit: int
) -> Page[ApiKeyRead]:
    keys = await repository.list_api_keys(reader, filters, page)
    return page_of(keys, page.limit, lambda key: to_read(key, default_rate_limit))


async def revoke(session: AsyncSession, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    key = await repository.get_api_key(session, key_id, for_update=True)
    if key is None:
        raise ApiKeyNotFound(f"no API key {key_id}", zh=f"未找到 API 密钥 {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        key.version += 1
        await repository.save(session, key)
        await audit.record(
            session, actor, "api_key.revoke", target_type="api_key", target_id=key.id, station_id=None
        )
    return key
