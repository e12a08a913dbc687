"""Every service's OpenAPI document: problems for every error, names fit for generated clients."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest

from tools.services import SERVICES, Service

PROBLEM_JSON = "application/problem+json"


def document(service: Service) -> dict[str, Any]:
    """The document as the service serves it; nothing is started or connected for it."""
    main = importlib.import_module(f"{service.package}.main")
    settings = importlib.import_module(f"{service.package}.settings").Settings.model_construct()
    result: dict[str, Any] = main.create_app(settings).openapi()
    return result


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    ]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_error_is_a_problem(service: Service) -> None:
    doc = document(service)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert doc["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "code",
        "request_id",
    ]
    for method, path, operation in operations(doc):
        errors = {status: r for status, r in operation["responses"].items() if int(status) >= 400}
        for status, response in errors.items():
            assert list(response["content"]) == [PROBLEM_JSON], (method, path, status)
        if operation.get("security"):
            assert "401" in errors, (method, path)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_operation_ids_make_method_names(service: Service) -> None:
    doc = document(service)
    ids = [operation["operationId"] for _, _, operation in operations(doc)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(rf"{service.name}_[a-z]+(_[a-z]+)*", operation_id), operation_id
    assert doc["info"]["description"]
