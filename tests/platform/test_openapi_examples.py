"""Every example in the OpenAPI document is valid against its schema (JSON Schema 2020-12, as OpenAPI 3.1
reads it), and each error response shows an example of what the API answers with that status."""

import uuid
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.hazards.test_hazards import hazard_body
from tests.platform.test_openapi_headers import operation_of
from tests.world import make_api_key
from yijing.access import ApiScope, Role
from yijing.errors import DomainError
from yijing_api.problems import _HTTP_PROBLEMS as HTTP_PROBLEMS

DOCUMENT_URI = "urn:yijing:openapi"
# The keywords of a schema whose values are schemas (maps of them, lists of them, or one).
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_ONES = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
Found = tuple[str, Any, str]  # the JSON pointer of a schema, an example of it, where the example is


def pointer(*parts: object) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def schema_examples(schema: dict, at: str) -> Iterator[Found]:
    for index, example in enumerate(schema.get("examples", [])):
        yield at, example, f"{at}/examples/{index}"
    if "example" in schema:
        yield at, schema["example"], f"{at}/example"
    for keyword in SCHEMA_MAPS:
        for name, subschema in schema.get(keyword, {}).items():
            yield from schema_examples(subschema, at + pointer(keyword, name))
    for keyword in SCHEMA_LISTS:
        for index, subschema in enumerate(schema.get(keyword, [])):
            yield from schema_examples(subschema, at + pointer(keyword, index))
    for keyword in SCHEMA_ONES:
        if isinstance(schema.get(keyword), dict):
            yield from schema_examples(schema[keyword], at + pointer(keyword))


def resolved(document: dict, node: dict) -> dict:
    """``node``, or what its ``$ref`` (to components/examples, /headers…) names."""
    if "$ref" not in node:
        return node
    found: Any = document
    for part in node["$ref"].removeprefix("#/").split("/"):
        found = found[part.replace("~1", "/").replace("~0", "~")]
    return resolved(document, found)


def holder_examples(document: dict, holder: dict, at: str) -> Iterator[Found]:
    """The examples of a parameter, a header or a media type, and those inside its schema."""
    holder = resolved(document, holder)
    if "schema" not in holder:
        return
    schema_at = at + pointer("schema")
    if "example" in holder:
        yield schema_at, holder["example"], f"{at}/example"
    for name, example in holder.get("examples", {}).items():
        yield schema_at, resolved(document, example)["value"], f"{at}/examples/{name}"
    yield from schema_examples(holder["schema"], schema_at)


def document_examples(document: dict) -> Iterator[Found]:
    for name, schema in document["components"]["schemas"].items():
        yield from schema_examples(schema, pointer("components", "schemas", name))
    for name, header in document["components"].get("headers", {}).items():
        yield from holder_examples(document, header, pointer("components", "headers", name))
    for path, item in document["paths"].items():
        for method, operation in item.items():
            at = pointer("paths", path, method)
            for index, parameter in enumerate(operation.get("parameters", [])):
                yield from holder_examples(document, parameter, at + pointer("parameters", index))
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                yield from holder_examples(
                    document, media, at + pointer("requestBody", "content", media_type)
                )
            for status, response in operation["responses"].items():
                for media_type, media in response.get("content", {}).items():
                    where = at + pointer("responses", status, "content", media_type)
                    yield from holder_examples(document, media, where)


async def test_every_example_is_valid_against_its_schema(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    registry = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
    found = list(document_examples(document))
    assert len(found) > 150  # the walk reaches the models', the parameters' and the responses' examples
    invalid = []
    for schema_at, example, where in found:
        validator = Draft202012Validator(
            {"$ref": f"{DOCUMENT_URI}#{schema_at}"},
            registry=registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        invalid += [f"{where}: {error.message}" for error in validator.iter_errors(example)]
    assert invalid == []


def problem_example_of(document: dict, operation: dict, status: int) -> dict:
    examples = operation["responses"][str(status)]["content"]["application/problem+json"]["examples"]
    [example] = examples.values()
    value: dict = resolved(document, example)["value"]
    return value


async def test_every_error_response_shows_one_example_of_its_status(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    assert "examples" not in document["components"]["schemas"]["Problem"]  # no one status for all
    for item in document["paths"].values():
        for operation in item.values():
            for status in operation["responses"]:
                if status[0] in "45":
                    example = problem_example_of(document, operation, int(status))
                    assert example["status"] == int(status), f"{operation['operationId']} {status}"
                    assert example["type"] == f"urn:yijing:problem:{example['code']}"


async def assert_answer_matches_its_example(client, response, status: int, code: str) -> dict:
    """The answer has the example's status, code, title and members (and its field errors theirs); returns
    the example."""
    document = (await client.get("/api/v1/openapi.json")).json()
    request = response.request
    example = problem_example_of(document, operation_of(document, request.method, request.url.path), status)
    answer = response.json()
    assert (response.status_code, answer["code"]) == (status, code), response.text
    assert (example["code"], example["title"]) == (answer["code"], answer["title"])
    assert example.keys() == answer.keys()
    for example_error, answer_error in zip(example.get("errors", []), answer.get("errors", []), strict=False):
        assert example_error.keys() == answer_error.keys()
    return example


async def test_the_error_examples_are_what_the_api_answers(client, world, session_factory):
    volunteer, officer = world.headers(Role.VOLUNTEER), world.headers(Role.OFFICER)
    admin, phone = world.headers(Role.ADMIN), world.phones[world.user(Role.OFFICER).id]
    hazard = world.own.hazard
    assert hazard is not None
    hazard_url = f"/api/v1/hazards/{hazard.id}"
    _, limited_key = await make_api_key(
        session_factory, world.settings, [ApiScope.STATS_READ], None, rate_limit=1
    )
    await client.get("/api/v1/stats/incidents", headers={"X-API-Key": limited_key})
    invalid = {
        name: value for name, value in hazard_body(world, severity="dire").items() if name != "description"
    }
    cases = [
        (
            await client.post(
                f"{hazard_url}/attachments",
                content=b"--x\r\nnot a part",
                headers=officer | {"Content-Type": "multipart/form-data; boundary=x"},
            ),
            400,
            "bad_request",
        ),
        (await client.get("/api/v1/hazards"), 401, "unauthenticated"),
        (await client.get("/api/v1/volunteers", headers=volunteer), 403, "forbidden"),
        (await client.get(f"/api/v1/hazards/{uuid.uuid4()}", headers=officer), 404, "hazard_not_found"),
        (await client.get(f"/api/v1/volunteers/{uuid.uuid4()}", headers=officer), 404, "volunteer_not_found"),
        (await client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=admin), 404, "job_run_not_found"),
        (
            await client.post("/api/v1/auth/token", data={"username": phone, "password": "wrong password"}),
            401,
            "invalid_credentials",
        ),
        (
            await client.post(f"{hazard_url}/reopen", json={"note": "复查"}, headers=officer),
            409,
            "transition_not_allowed",
        ),
        (
            await client.patch(
                hazard_url, json={"address": "A 区 18 号"}, headers=officer | {"If-Match": '"9"'}
            ),
            412,
            "version_mismatch",
        ),
        (
            await client.post(
                "/api/v1/hazards",
                content=b"[" + b" " * 300_000 + b"]",
                headers=officer | {"Content-Type": "application/json"},
            ),
            413,
            "payload_too_large",
        ),
        (
            await client.post("/api/v1/hazards", json=invalid, headers=officer),
            422,
            "validation_failed",
        ),
        (
            await client.get("/api/v1/stats/incidents", headers={"X-API-Key": limited_key}),
            429,
            "too_many_requests",
        ),
    ]
    for response, status, code in cases:
        example = await assert_answer_matches_its_example(client, response, status, code)
        if status == 422:
            # The field errors shown are those this very body gets, in Chinese.
            assert response.json()["errors"] == example["errors"]


async def test_a_locked_sign_in_answers_its_own_example(client, world):
    """The sign-in's 429 is its own (a number locked after failed sign-ins), not an API key's."""
    phone = world.phones[world.user(Role.VOLUNTEER).id]
    for _ in range(world.settings.login_max_failures):
        await client.post("/api/v1/auth/token", data={"username": phone, "password": "wrong"})
    locked = await client.post("/api/v1/auth/token", data={"username": phone, "password": "wrong"})
    await assert_answer_matches_its_example(client, locked, 429, "too_many_requests")


def domain_codes(kind: type[DomainError] = DomainError) -> set[str]:
    return {kind.code} | {code for sub in kind.__subclasses__() for code in domain_codes(sub)}


async def test_every_error_example_names_a_code_the_api_answers(client):
    """An example's code is one the code raises (or the framework's own for its status): a 404 names the
    record of its operation's path, never one of another kind."""
    document = (await client.get("/api/v1/openapi.json")).json()
    framework = {code for code, _, _ in HTTP_PROBLEMS.values()}
    shown = {example["value"]["code"] for example in document["components"]["examples"].values()}
    assert shown <= domain_codes() | framework, shown - domain_codes() - framework
    job = document["paths"]["/api/v1/jobs/{job_id}"]["get"]
    assert problem_example_of(document, job, 404)["code"] == "job_run_not_found"
