"""Every bounded list of a request is refused for its length before any of its items is validated.

Pydantic does this itself (from 2.9, the oldest the project allows, to now): a list's ``max_length`` is
checked against the input's length first, so three million bad items cost one error, not three million
validations. This pins that, for every request body and job payload, against a change of pydantic."""

from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter
from pydantic_core import SchemaValidator, ValidationError

from yijing.jobs.catalog import all_jobs
from yijing_api.main import create_app


def request_types() -> list[Any]:
    bodies = [
        context.route.body_field.field_info.annotation
        for context in iter_route_contexts(create_app().routes)
        if isinstance(context.route, APIRoute) and context.route.body_field is not None
    ]
    return bodies + [spec.payload_model for spec in all_jobs()]


def bounded_lists(schema: Any) -> list[dict[str, Any]]:
    """The list schemas with a ``max_length`` anywhere in a core schema."""
    if isinstance(schema, list):
        return [found for item in schema for found in bounded_lists(item)]
    if not isinstance(schema, dict):
        return []
    found = [schema] if schema.get("type") == "list" and "max_length" in schema else []
    return found + [inner for value in schema.values() for inner in bounded_lists(value)]


def test_every_bounded_list_of_a_request_is_refused_by_its_length_alone():
    checked = 0
    for request_type in request_types():
        schema = TypeAdapter(request_type).core_schema
        definitions = schema["definitions"] if schema["type"] == "definitions" else []
        for bounded in bounded_lists(schema):
            validator = SchemaValidator(
                {"type": "definitions", "schema": bounded, "definitions": definitions}
            )
            too_many = [object()] * (bounded["max_length"] + 1)  # not one of them a valid item
            with pytest.raises(ValidationError) as refused:
                validator.validate_python(too_many)
            assert [error["type"] for error in refused.value.errors()] == ["too_long"], request_type
            checked += 1
    # The incident batch and its tags, users' sites, API keys' scopes and stations, volunteers' skills, job
    # payloads' groups, days and recipients.
    assert checked >= 10
