"""The API's routers. FastAPI finds a request's route by trying every route of every included router in
turn, twice (once to choose, once to run): a path near the end of this API's ~180 routes cost ≈1 ms of CPU
before any work began. A :class:`Router` turns a request away at once when its path lies outside the
literal start that all of its routes share (``/api/v1/hazards``), so a request is only tried against the
routes of the routers it can belong to."""

from __future__ import annotations

from os.path import commonpath

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope


class Router(APIRouter):
    """An APIRouter that knows the literal start of its routes' paths once included (:func:`include`)."""

    path_start = ""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not _route_path(scope).startswith(self.path_start):
            return Match.NONE, {}
        return super().matches(scope)


def include(parent: APIRouter, router: Router, prefix: str) -> None:
    """Include ``router`` in ``parent`` (mounted at ``prefix``), with the literal start its paths share: up to
    the first path parameter of the most specific path common to all of them."""
    parent.include_router(router)
    paths = [prefix + getattr(route, "path", "") for route in router.routes]
    common = commonpath(paths) if paths else prefix
    router.path_start = common.split("{", 1)[0]


def _route_path(scope: Scope) -> str:
    """The path routes see: less the ``root_path`` a proxy mounts the API under (as Starlette reads it)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :]
    return path
