"""Database helpers for tests."""

from sqlalchemy import func, select
from sqlmodel import SQLModel

from yijing.db import SessionFactory


async def count_rows(session_factory: SessionFactory, model: type[SQLModel]) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
