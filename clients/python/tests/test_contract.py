"""The client against the gateway's merged OpenAPI document: a drift on either side fails here.

Methods are named by operationId and carry their route (`@operation`); the models are generated
from the document and the sync client from the async one, so both must be current too.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from suite_client import AsyncSuiteClient, SuiteClient
from suite_client.operation import Route, route_of
from tools import client_gen

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT: dict[str, Any] = json.loads((ROOT / "deploy" / "gateway" / "openapi.json").read_text())
# Arguments that are headers or the client's own business, not the document's parameters.
CLIENT_ARGUMENTS = {"self", "idempotency_key", "if_version", "progress", "destination"}
# Fields the client fills in from the credentials it holds.
FROM_CREDENTIALS = {"auth_login": {"device_token"}, "auth_refresh": {"refresh_token"}}
# The upload's file is the one multipart field: the client takes it as a path or file object.
UPLOAD_ARGUMENTS = {"source", "filename", "content_type"}


def documented() -> dict[str, tuple[Route, dict[str, Any]]]:
    return {
        operation["operationId"]: (Route(method.upper(), path), operation)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
    }


def client_operations(client: type) -> dict[str, tuple[Route, Callable[..., Any]]]:
    found = {}
    for name, function in inspect.getmembers(client, inspect.isfunction):
        if (route := route_of(function)) is not None:
            found[name] = (route, function)
    return found


def body_schema(operation: dict[str, Any]) -> dict[str, Any]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return dict(schema)


@pytest.mark.parametrize("client", [SuiteClient, AsyncSuiteClient], ids=lambda c: c.__name__)
def test_every_operation_has_a_method_named_by_its_id_on_its_route(client: type) -> None:
    expected = {op_id: route for op_id, (route, _) in documented().items()}
    actual = {name: route for name, (route, _) in client_operations(client).items()}
    assert actual == expected


@pytest.mark.parametrize("op_id", sorted(documented()))
def test_each_method_takes_the_parameters_its_operation_declares(op_id: str) -> None:
    route, operation = documented()[op_id]
    _, method = client_operations(SuiteClient)[op_id]
    parameters = set(inspect.signature(method).parameters) - CLIENT_ARGUMENTS
    arguments = parameters | FROM_CREDENTIALS.get(op_id, set())
    path_names = set(re.findall(r"{(\w+)}", route.path))
    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    schema = body_schema(operation)
    fields = set(schema.get("properties", {}))
    # Every argument is something the API reads, and nothing the API requires is left out.
    if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
        assert parameters == UPLOAD_ARGUMENTS
        return
    assert arguments <= path_names | query | fields, "an argument the document does not know"
    assert path_names | set(schema.get("required", [])) <= arguments, "a required one missing"
    assert fields <= arguments, "a body field the client cannot send"


def literal_values(annotation: Any) -> set[Any]:
    """The values of every Literal inside an annotation (`Priority | None` -> the priorities)."""
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    return {v for arg in typing.get_args(annotation) for v in literal_values(arg)}


def enum_of(schema: dict[str, Any]) -> set[Any]:
    found = set(schema.get("enum", []))
    for option in schema.get("anyOf", []):
        found |= enum_of(option)
    return found


@pytest.mark.parametrize("op_id", sorted(documented()))
def test_each_choice_the_api_offers_is_a_choice_of_the_method(op_id: str) -> None:
    _, operation = documented()[op_id]
    _, method = client_operations(SuiteClient)[op_id]
    hints = typing.get_type_hints(method)
    for parameter in operation.get("parameters", []):
        if choices := enum_of(parameter["schema"]):
            assert literal_values(hints[parameter["name"]]) == choices, parameter["name"]


def test_the_sync_client_and_the_models_are_current() -> None:
    assert client_gen.stale() == [], "run `python -m tools.client_gen`"
