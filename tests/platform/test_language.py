"""Every error speaks the client's language: Chinese (``zh-CN``, the default) or English (``en``), with the
same codes either way, and says which (``Content-Language``, ``Vary: Accept-Language``).

The static half reads the source of shared/ and services/ so that no error can be written without its
Chinese: every DomainError is built with ``zh=`` Chinese, every field error has its ``message_zh``, every
custom validator refuses through ``yijing.i18n.invalid`` (mypy adds that no required ``zh`` is left out). The
HTTP half checks what clients get."""

from __future__ import annotations

import ast
import re
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError
from pydantic.types import UUID4
from pydantic_core.core_schema import ErrorType

from yijing.access import Role
from yijing.i18n import MESSAGES_ZH, validation_message_zh

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(path for top in ("shared", "services") for path in (ROOT / top).rglob("*.py"))
CJK = re.compile(r"[\u4e00-\u9fff]")
PYDANTIC_VALIDATORS = {"AfterValidator", "BeforeValidator", "WrapValidator", "PlainValidator"}
VALIDATOR_DECORATORS = {"field_validator", "model_validator"}


# Reading the source


@dataclass(eq=False)  # hashable by identity: what is read from it is cached
class Module:
    path: Path
    tree: ast.Module
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    @property
    def name(self) -> str:
        relative = self.path.relative_to(ROOT).with_suffix("")
        parts = relative.parts[1:] if relative.parts[0] == "shared" else relative.parts[2:]
        return ".".join(part for part in parts if part != "__init__")

    def enclosing_functions(self, node: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield node

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


MODULES = [Module(path, ast.parse(path.read_text(encoding="utf-8"))) for path in SOURCES]
BY_NAME = {module.name: module for module in MODULES}


def is_chinese_name(name: str) -> bool:
    return name.lower() == "zh" or name.lower().endswith("_zh")


def parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    arguments = function.args
    return [arg.arg for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]


def callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def domain_errors() -> dict[str, bool]:
    """Every DomainError subclass by name, and whether its constructor takes ``zh`` (one that does not
    writes its Chinese itself, and that ``zh=`` is checked where it is written)."""
    classes = {
        node.name: node
        for module in MODULES
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ClassDef)
    }

    def bases(node: ast.ClassDef) -> list[str]:
        return [name for base in node.bases if (name := getattr(base, "id", getattr(base, "attr", None)))]

    def takes_zh(name: str) -> bool:
        node = classes[name]
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                return "zh" in parameters(item)
        return all(takes_zh(base) for base in bases(node) if base in errors)

    errors = {"DomainError"}
    while grown := {
        name for name, node in classes.items() if name not in errors and set(bases(node)) & errors
    }:
        errors |= grown
    return {name: takes_zh(name) for name in errors}


DOMAIN_ERRORS = domain_errors()


def chinese_parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [name for name in parameters(function) if is_chinese_name(name)]


def defined_taking_chinese(module: Module) -> dict[str, list[str]]:
    """The functions a module defines that take Chinese (``zh``, ``subject_zh``…), with those arguments."""
    return {
        node.name: names
        for node in ast.walk(module.tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name != "__init__"
        and (names := chinese_parameters(node))
    }


@cache
def callable_taking_chinese(module: Module) -> dict[str, list[str]]:
    """What a module calls by name that takes Chinese: its own functions and those it imports from shared/ or
    services/ (two modules may each have a ``_refuse`` of their own)."""
    found = defined_taking_chinese(module)
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom) and node.module in BY_NAME:
            source = defined_taking_chinese(BY_NAME[node.module])
            found |= {
                alias.asname or alias.name: source[alias.name] for alias in node.names if alias.name in source
            }
    return found


# Methods (``InvalidInput.on``), and functions reached through their module (``uploads.refusal``), are
# called as attributes: matched by name across the tree.
METHODS_TAKING_CHINESE = {
    name: names for module in MODULES for name, names in defined_taking_chinese(module).items()
}
CLASSES_TAKING_CHINESE = {
    node.name: names
    for module in MODULES
    for node in ast.walk(module.tree)
    if isinstance(node, ast.ClassDef)
    for item in node.body
    if isinstance(item, ast.FunctionDef) and item.name == "__init__" and (names := chinese_parameters(item))
}


def is_chinese(module: Module, expression: ast.expr, seen: frozenset[str] = frozenset()) -> bool:
    """Whether an expression gives Chinese text: it holds Chinese literally, or takes it from a value that is
    checked where that is written (a ``zh`` parameter, a ``*_zh`` attribute, key or function, a name bound
    to Chinese)."""
    functions = list(module.enclosing_functions(expression))
    called = {id(node.func) for node in ast.walk(expression) if isinstance(node, ast.Call)}
    for node in ast.walk(expression):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK.search(node.value):
            return True
        if isinstance(node, ast.Attribute) and is_chinese_name(node.attr):
            return True
        key = node.slice if isinstance(node, ast.Subscript) else None
        if isinstance(key, ast.Constant) and is_chinese_name(str(key.value)):
            return True
        if isinstance(node, ast.Name) and node.id not in seen:
            if is_chinese_name(node.id) and (
                id(node) in called or any(node.id in parameters(f) for f in functions)
            ):
                return True
            bound = (
                assignment.value
                for scope in (*functions, module.tree)
                for assignment in ast.walk(scope)
                if isinstance(assignment, ast.Assign)
                and any(
                    isinstance(target, ast.Name) and target.id == node.id for target in assignment.targets
                )
            )
            if any(is_chinese(module, value, seen | {node.id}) for value in bound):
                return True
    return False


def calls(module: Module) -> Iterator[ast.Call]:
    return (node for node in ast.walk(module.tree) if isinstance(node, ast.Call))


# The static half


def chinese_arguments(module: Module, call: ast.Call) -> list[str]:
    """The arguments that carry Chinese that ``call`` must give, by keyword: ``zh`` for a DomainError (unless
    its constructor writes the Chinese itself), or those of a function or class that takes Chinese."""
    name = callee(call)
    if name is None:
        return []
    if name in DOMAIN_ERRORS:
        return ["zh"] if DOMAIN_ERRORS[name] else []
    if isinstance(call.func, ast.Name):
        return callable_taking_chinese(module).get(name) or CLASSES_TAKING_CHINESE.get(name, [])
    return METHODS_TAKING_CHINESE.get(name) or CLASSES_TAKING_CHINESE.get(name, [])


def test_every_domain_error_built_in_the_code_is_given_chinese():
    missing = [
        f"{module.where(call)}: {callee(call)}(...) without {argument}="
        for module in MODULES
        for call in calls(module)
        for argument in chinese_arguments(module, call)
        if argument not in {keyword.arg for keyword in call.keywords}
    ]
    assert len(DOMAIN_ERRORS) > 80, "the DomainError subclasses were not found"
    assert not missing, "\n".join(missing)


def test_the_chinese_given_is_chinese():
    """Every ``zh=`` (and ``subject_zh=``…, where that is taken) and every ``message_zh`` is Chinese text, or
    passes on Chinese checked where it is written."""
    english = []
    for module in MODULES:
        for call in calls(module):
            taken = set(chinese_arguments(module, call)) | {"zh"}
            for keyword in call.keywords:
                if keyword.arg in taken and not is_chinese(module, keyword.value):
                    english.append(
                        f"{module.where(keyword.value)}: {keyword.arg}={ast.unparse(keyword.value)}"
                    )
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    is_key = isinstance(key, ast.Constant) and key.value == "message_zh"
                    if is_key and not is_chinese(module, value):
                        english.append(f"{module.where(value)}: message_zh: {ast.unparse(value)}")
    assert not english, "\n".join(english)


def test_no_chinese_message_carries_an_exceptions_english():
    """A library's account of what broke (``exc``, its type's name) is English: a ``zh=`` f-string that
    interpolates it answers a Chinese reader half in English. (Our own error's ``exc.detail_zh`` is not.)"""

    def english_of_exception(expression: ast.expr) -> bool:
        chinese_of_ours = {
            id(node.value)
            for node in ast.walk(expression)
            if isinstance(node, ast.Attribute) and is_chinese_name(node.attr)
        }
        return any(
            isinstance(node, ast.Name) and node.id == "exc" and id(node) not in chinese_of_ours
            for node in ast.walk(expression)
        )

    mixed = [
        f"{module.where(keyword.value)}: zh={ast.unparse(keyword.value)}"
        for module in MODULES
        for call in calls(module)
        for keyword in call.keywords
        if keyword.arg is not None and is_chinese_name(keyword.arg) and english_of_exception(keyword.value)
    ]
    assert not mixed, "\n".join(mixed)


def test_every_field_error_has_its_chinese_message():
    """A field error (``{"field", "message", "code"}``) carries ``message_zh`` too. Exempt: the one place a
    problem's field errors are rendered in one language, and documentation examples written in Chinese."""
    missing = []
    for module in MODULES:
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Dict):
                continue
            members = {key.value: value for key, value in zip(node.keys, node.values, strict=True)
                       if isinstance(key, ast.Constant)}  # fmt: skip
            if not {"field", "message"} <= members.keys() or "message_zh" in members:
                continue
            rendering = any(function.name == "_field_error" for function in module.enclosing_functions(node))
            example = isinstance(message := members["message"], ast.Constant) and CJK.search(
                str(message.value)
            )
            if not (rendering and module.name == "yijing_api.problems") and not example:
                missing.append(module.where(node))
    assert not missing, "\n".join(missing)


def validators(module: Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The module's functions that pydantic runs: named in an ``…Validator(...)`` or decorated as one."""
    named = {
        argument.id
        for call in calls(module)
        if callee(call) in PYDANTIC_VALIDATORS
        for argument in call.args
        if isinstance(argument, ast.Name)
    }
    for node in ast.walk(module.tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            decorators = {
                callee(decorator) if isinstance(decorator, ast.Call) else getattr(decorator, "id", None)
                for decorator in node.decorator_list
            }
            if node.name in named or decorators & VALIDATOR_DECORATORS:
                yield node


def test_custom_validators_refuse_in_both_languages():
    """A validator of request data refuses with ``invalid(message, zh=...)``, never a bare ValueError (whose
    message is English only). Settings are read from the environment, never from a client: exempt."""
    bare = []
    for module in MODULES:
        if module.name == "yijing.settings":
            continue
        for function in validators(module):
            for node in ast.walk(function):
                if isinstance(node, ast.Assert):
                    bare.append(f"{module.where(node)}: assert in the validator {function.name}")
                raised = node.exc if isinstance(node, ast.Raise) else None
                if raised is not None and (
                    callee(raised) if isinstance(raised, ast.Call) else getattr(raised, "id", None)
                ) in {"ValueError", "AssertionError", "TypeError"}:
                    bare.append(
                        f"{module.where(node)}: {ast.unparse(raised)} in the validator {function.name}"
                    )
    assert not bare, "\n".join(bare)


def test_every_pydantic_error_type_has_a_chinese_message():
    assert set(typing.get_args(ErrorType)) <= MESSAGES_ZH.keys()


class Everything(BaseModel):
    """Fields that break in most of the ways a request can."""

    model_config = ConfigDict(extra="forbid")

    count: Annotated[int, Field(gt=0, lt=10, multiple_of=2)]
    ratio: float
    words: Annotated[list[str], Field(min_length=2, max_length=3)]
    code: Annotated[str, Field(min_length=2, max_length=3, pattern="^[a-z]+$")]
    kind: Literal["low", "high"]
    day: date
    link: HttpUrl
    id: UUID4
    amount: Annotated[Decimal, Field(max_digits=4, decimal_places=1)]
    flag: bool


@pytest.mark.parametrize(
    "data",
    [
        {"count": 11, "ratio": "x", "words": ["a"], "code": "A", "kind": "mid", "day": "2024-02-30",
         "link": "ftp://x", "id": "00000000-0000-1000-8000-000000000000", "amount": "12345.67",
         "flag": "maybe", "other": 1},
        {"count": 3, "ratio": [], "words": ["a", "b", "c", "d"], "code": "abcd", "kind": 1, "day": "soon",
         "link": "not a url", "id": "x", "amount": "1.23"},
        {"count": 0, "words": "ab", "code": 12, "day": 1.5, "link": 3, "id": 4, "amount": [], "flag": []},
    ],
)  # fmt: skip
def test_pydantic_errors_are_translated_with_their_values(data):
    with pytest.raises(ValidationError) as refused:
        Everything.model_validate(data)
    for error in refused.value.errors():
        message = validation_message_zh(error)
        assert CJK.search(message), (error, message)
        assert "{" not in message, (error, message)
        assert message != "取值不合法", error
    enum = {"type": "enum", "ctx": {"expected": "'low', 'medium' or 'high'"}}
    assert validation_message_zh(enum) == "必须是以下值之一：'low'、'medium'、'high'"


# The HTTP half

ENGLISH = {"accept-language": "en"}
CHINESE = [{}, {"accept-language": "zh-CN"}, {"accept-language": "en;q=0.3, zh-CN;q=0.9"}]


def assert_language(response, language):
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-language"] == language
    assert "accept-language" in response.headers["vary"].lower()


def assert_chinese(text):
    assert text, text
    assert CJK.search(text), text


@pytest.mark.parametrize("chinese", CHINESE)
async def test_a_domain_error_is_chinese_by_default_and_english_on_request(client, world, chinese):
    volunteer_id = uuid.uuid4()
    headers = world.headers(Role.OFFICER)
    url = f"/api/v1/volunteers/{volunteer_id}"
    zh = await client.get(url, headers=headers | chinese)
    en = await client.get(url, headers=headers | ENGLISH)
    for response in (zh, en):
        assert response.status_code == 404
        assert response.json()["code"] == "volunteer_not_found"
    assert_language(zh, "zh-CN")
    assert zh.json()["title"] == "未找到"
    assert zh.json()["detail"] == f"未找到义警 {volunteer_id}"
    assert_language(en, "en")
    assert en.json()["title"] == "Not found"
    assert en.json()["detail"] == f"no volunteer {volunteer_id}"


@pytest.mark.parametrize("chinese", CHINESE)
async def test_schema_errors_are_chinese_by_default_and_pydantics_english_on_request(client, world, chinese):
    body = {"name": "夜" * 101, "kind": "casino"}  # no station_id
    headers = world.headers(Role.ADMIN)
    zh = await client.post("/api/v1/sites", json=body, headers=headers | chinese)
    en = await client.post("/api/v1/sites", json=body, headers=headers | ENGLISH)
    expected = {
        "body.station_id": ("missing", "缺少必填字段", "Field required"),
        "body.name": (
            "string_too_long",
            "最多只能有 100 个字符",
            "String should have at most 100 characters",
        ),
        "body.kind": (
            "enum",
            "必须是以下值之一：'night_market'、'plaza'、'commercial_street'、'rental_area'、"
            "'community'、'other'",
            "Input should be 'night_market', 'plaza', 'commercial_street', 'rental_area', "
            "'community' or 'other'",
        ),
    }
    for response, language, column in ((zh, "zh-CN", 1), (en, "en", 2)):
        assert response.status_code == 422
        assert_language(response, language)
        problem = response.json()
        assert problem["code"] == "validation_failed"
        errors = {error["field"]: (error["code"], error["message"]) for error in problem["errors"]}
        assert errors == {name: (values[0], values[column]) for name, values in expected.items()}
        assert all(set(error) == {"field", "message", "code"} for error in problem["errors"])
    assert zh.json()["title"] == "数据校验失败"
    assert_chinese(zh.json()["detail"])
    assert en.json()["detail"] == "The request has invalid fields; see errors."


@pytest.mark.parametrize("chinese", CHINESE)
async def test_a_custom_validators_refusal_is_in_both_languages(client, world, chinese):
    body = {"name": "新城派出所", "division_code": "350121", "timezone": "Mars/Olympus"}
    headers = world.headers(Role.ADMIN)
    zh = await client.post("/api/v1/stations", json=body, headers=headers | chinese)
    en = await client.post("/api/v1/stations", json=body, headers=headers | ENGLISH)
    for response, language in ((zh, "zh-CN"), (en, "en")):
        assert response.status_code == 422
        assert_language(response, language)
        [error] = response.json()["errors"]
        assert (error["field"], error["code"]) == ("body.timezone", "value_error")
    assert zh.json()["errors"][0]["message"] == "未知的 IANA 时区“Mars/Olympus”"
    assert en.json()["errors"][0]["message"] == "unknown IANA time zone 'Mars/Olympus'"


@pytest.mark.parametrize("chinese", CHINESE)
async def test_a_rule_broken_past_the_schema_has_chinese_field_messages(client, world, chinese):
    headers = world.headers(Role.ADMIN)
    repeated = {"limit": ["5", "6"]}
    zh = await client.get("/api/v1/users", params=repeated, headers=headers | chinese)
    en = await client.get("/api/v1/users", params=repeated, headers=headers | ENGLISH)
    assert_language(zh, "zh-CN")
    assert_language(en, "en")
    assert zh.json()["errors"] == [{"field": "query.limit", "message": "不能重复提供", "code": "repeated"}]
    assert en.json()["errors"] == [
        {"field": "query.limit", "message": "given more than once", "code": "repeated"}
    ]
    assert zh.json()["detail"] == "查询参数“limit”只能取一个值"
    assert en.json()["detail"] == "the query parameter 'limit' takes one value"


@pytest.mark.parametrize("chinese", CHINESE)
async def test_a_framework_error_is_localised_too(admin_client, chinese):
    zh = await admin_client.delete("/api/v1/jobs", headers=chinese)
    en = await admin_client.delete("/api/v1/jobs", headers=ENGLISH)
    for response in (zh, en):
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"
        assert "POST" in response.headers["allow"]
    assert_language(zh, "zh-CN")
    assert zh.json()["title"] == "不支持该请求方法"
    assert_language(en, "en")
    assert en.json()["title"] == "Method not allowed"


async def test_only_problems_are_negotiated(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert "content-language" not in response.headers
