"""Interactive API docs (Swagger UI and ReDoc) served entirely by the service: police networks have no
internet, so no page may load anything from a CDN. The assets come from the fastapi-offline package."""

from pathlib import Path
from typing import Annotated

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from yijing.access import Actor
from yijing_api.auth import PUBLIC

ASSETS = Path(fastapi_offline.__file__).parent / "static"
STATIC_URL = "/static/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
# Everything from this origin, nothing from elsewhere: ReDoc's bundle fetches the Redocly logo from its CDN
# for the "API docs by Redocly" footer, and no option turns that off; blocked, the image is left out. ReDoc
# injects its styles inline and runs its search in a worker made from a blob.
REDOC_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:"
)


def install_docs(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    router = APIRouter(include_in_schema=False)

    # 307, not 308: a browser keeps a permanent redirect for good, and / may one day show something else.
    @router.api_route("/", methods=["GET", "HEAD"])
    async def root(request: Request, actor: Annotated[Actor, Depends(PUBLIC)]) -> RedirectResponse:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/docs", status_code=307)

    # HEAD as well as GET on every page (link checkers, monitors); the server drops the body of a HEAD.
    @router.api_route("/docs", methods=["GET", "HEAD"])
    async def swagger_ui(request: Request, actor: Annotated[Actor, Depends(PUBLIC)]) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — API",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            # validatorUrl: Swagger UI would otherwise call an outside validator service.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @router.api_route(OAUTH2_REDIRECT_URL, methods=["GET", "HEAD"])
    async def swagger_ui_oauth2_redirect(actor: Annotated[Actor, Depends(PUBLIC)]) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.api_route("/redoc", methods=["GET", "HEAD"])
    async def redoc(request: Request, actor: Annotated[Actor, Depends(PUBLIC)]) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — API",
            redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_CONTENT_SECURITY_POLICY
        return page

    app.include_router(router)
