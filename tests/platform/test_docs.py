"""The interactive docs work on a network with no outside access: every asset comes from the service."""

import re
from urllib.parse import urljoin

import httpx
import pytest

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)|(https?://[^\s"'<>]+)""")


def referenced_urls(html: str) -> set[str]:
    found = set()
    for match in URL.finditer(html):
        found.add(next(group for group in match.groups() if group))
    return found


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_loads_only_local_assets(client, page):
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = referenced_urls(response.text)
    assert urls, "the page should reference its scripts"
    for url in urls:
        assert not url.startswith(("http://", "https://", "//")), f"{page} references an outside host: {url}"
        asset = await client.get(urljoin(page, url))
        assert asset.status_code == 200, url


OUTSIDE_URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


async def test_the_redoc_page_names_no_outside_url(client):
    html = (await client.get("/redoc")).text
    assert OUTSIDE_URL.findall(html) == []
    assert "fonts.googleapis" not in html


async def test_the_redoc_page_forbids_fetching_from_other_hosts(client):
    # ReDoc's bundle itself would fetch the Redocly logo from a CDN; the browser must refuse it.
    policy = (await client.get("/redoc")).headers["content-security-policy"]
    directives = dict(directive.strip().split(" ", 1) for directive in policy.split(";"))
    assert directives["default-src"] == "'self'"
    for sources in directives.values():
        assert set(sources.split()) <= {"'self'", "'unsafe-inline'", "data:", "blob:"}, policy


def headers_but_request_id(response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name != "x-request-id"}


@pytest.mark.parametrize(
    "page",
    [
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/api/v1/openapi.json",
        "/static/docs/redoc.standalone.js",
        "/static/docs/swagger-ui.css",
    ],
)
async def test_a_docs_page_answers_head_as_get_without_the_body(client, page):
    got = await client.get(page)
    head = await client.head(page)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert headers_but_request_id(head) == headers_but_request_id(got)
    assert int(head.headers["content-length"]) == len(got.content) > 0


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_the_root_redirects_to_the_docs(client, method):
    response = await client.request(method, "/")
    assert response.status_code == 307
    assert response.headers["location"] == "/docs"
    followed = await client.request(method, "/", follow_redirects=True)
    assert followed.status_code == 200
    assert str(followed.url) == "http://testserver/docs"


async def test_the_root_redirect_keeps_the_root_path(app):
    # Behind a proxy that serves the service under a prefix (uvicorn --root-path /yijing).
    transport = httpx.ASGITransport(app=app, root_path="/yijing")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/yijing/")
    assert response.status_code == 307
    assert response.headers["location"] == "/yijing/docs"


async def test_swagger_ui_does_not_call_an_outside_validator(client):
    html = (await client.get("/docs")).text
    assert '"validatorUrl": null' in html


async def test_openapi_document_is_complete(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert operations
    declared = {tag["name"] for tag in document["tags"] if tag.get("description")}
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("tags"), where
        assert set(operation["tags"]) <= declared, f"{where}: a tag without a description"
        assert operation.get("summary"), where
        assert re.fullmatch(r"[a-z]+_[a-z_]+", operation["operationId"]), where
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert list(response["content"]) == ["application/problem+json"], where
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "Problem" in document["components"]["schemas"]


async def test_the_description_promises_only_what_exists(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    description = document["info"]["description"]
    # Domains still to come are not named until their routes exist.
    for missing in ("patrol", "dispute", "training", "assessment", "scor", "rental", "bulletin", "channel"):
        assert missing not in description.lower() or any(missing in path for path in document["paths"])


def operations(document: dict) -> list[dict]:
    return [operation for item in document["paths"].values() for operation in item.values()]


async def test_tags_are_described_used_and_in_reading_order(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    listed = [tag["name"] for tag in document["tags"]]
    used = {tag for operation in operations(document) for tag in operation["tags"]}
    assert all(tag.get("description") for tag in document["tags"])
    assert sorted(listed) == sorted(used)  # every tag used is listed, once, and none listed is unused
    # A reader meets signing in first and the operators' domains last.
    assert listed[:2] == ["auth", "me"]
    assert listed[-2:] == ["jobs", "system"]


async def test_component_names_are_plain(client):
    """Generators name a model after its component: a name FastAPI had to qualify with its module
    (``yijing__hazards__schemas__ReopenAction``) means two models share a name, which openapi-python-client
    refuses."""
    document = (await client.get("/api/v1/openapi.json")).json()
    assert [name for name in document["components"]["schemas"] if "__" in name] == []


async def test_every_success_with_a_body_documents_it(client):
    """A create answered again (an offline report resent, the same photo uploaded twice) answers 200 with the
    stored record: generated clients read it only if that 200 has the same content as the 201."""
    document = (await client.get("/api/v1/openapi.json")).json()
    for operation in operations(document):
        for status, response in operation["responses"].items():
            if status[0] == "2" and status != "204":
                assert response.get("content"), f"{operation['operationId']} {status}"
        created, replayed = operation["responses"].get("201"), operation["responses"].get("200")
        if created and replayed:
            assert replayed["content"] == created["content"], operation["operationId"]
