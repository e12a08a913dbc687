"""The API's documents and docs pages, as a client and a browser get them through the gateway:
one merged document, and pages whose every script and style comes from the suite itself."""

from __future__ import annotations

import re

import httpx
import pytest

from tools.services import SERVICE_NAMES

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def test_the_merged_document_holds_every_service(client: httpx.Client) -> None:
    merged = client.get("/api/v1/openapi.json")
    assert merged.status_code == 200
    assert merged.headers["content-type"].startswith("application/json")
    document = merged.json()
    for name in SERVICE_NAMES:
        own = client.get(f"/api/v1/{name}/openapi.json").json()
        assert own["paths"].items() <= document["paths"].items(), name
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert document["components"]["schemas"]["Problem"]


@pytest.mark.parametrize(
    "page",
    ["/api/v1/docs", *(f"/api/v1/{name}/docs" for name in SERVICE_NAMES), "/api/v1/todos/redoc"],
)
def test_docs_pages_load_nothing_from_outside(client: httpx.Client, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assets = ASSET.findall(response.text)
    assert assets, response.text[:300]
    assert "cdn" not in response.text.lower()
    for asset in assets:
        assert asset.startswith("/api/v1/"), asset
        assert client.get(asset).status_code == 200, asset


def test_the_authorize_dialog_logs_in_with_a_password(client: httpx.Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    flows = document["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/login"
    redirect = client.get("/api/v1/auth/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "oauth2" in redirect.text.lower()
