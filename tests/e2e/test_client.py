"""The happy paths through the typed client (clients/python), against the running gateway.

If the document, the client and the services drift apart, these fail: the client parses every
answer with the models generated from the merged document.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pyotp
import pytest

from suite_client import AsyncSuiteClient, Credentials, ProblemError, SuiteClient
from tools import oidc_provider, suite

PASSWORD = "correct horse battery staple"


def register_and_login(base_url: str) -> tuple[str, Credentials]:
    name = f"cl_{secrets.token_hex(5)}"
    with SuiteClient(base_url) as fresh:
        fresh.auth_register(email=f"{name}@example.com", username=name, password=PASSWORD)
        fresh.auth_login(username=name, password=PASSWORD)
        return name, fresh.credentials


@pytest.fixture
def ann(base_url: str) -> Iterator[SuiteClient]:
    _, credentials = register_and_login(base_url)
    with SuiteClient(base_url, credentials=credentials) as client:
        yield client


def test_a_todo_from_creation_to_deletion(ann: SuiteClient, eventually) -> None:
    profile = eventually(lambda: _profile(ann), within=2.0, what="the profile from user.registered")
    assert profile.username == ann.auth_me().username
    todo = ann.todos_create(title="Water the plants", priority="high", tags=["home"])
    assert (todo.title, todo.priority, todo.tags, todo.completed) == (
        "Water the plants",
        "high",
        ["home"],
        False,
    )
    done = ann.todos_update(todo.id, if_version=todo.version, completed=True)
    assert done.completed and done.version == todo.version + 1
    with pytest.raises(ProblemError) as stale:
        ann.todos_update(todo.id, if_version=todo.version, title="too late")
    assert (stale.value.status, stale.value.code) == (412, "precondition_failed")
    assert [t.id for t in ann.todos_iter(completed=True, tag="home")] == [todo.id]
    ann.todos_delete(todo.id)
    with pytest.raises(ProblemError) as gone:
        ann.todos_get(todo.id)
    assert gone.value.status == 404 and gone.value.request_id


def _profile(client: SuiteClient) -> object:
    try:
        return client.users_me()
    except ProblemError as error:
        assert error.status == 404
        return None


def test_paging_follows_every_cursor(ann: SuiteClient) -> None:
    made = {ann.todos_create(title=f"t{i}").id for i in range(7)}
    assert {t.id for t in ann.todos_iter(page_size=3)} == made


def test_a_file_streams_up_and_down_with_progress(ann: SuiteClient, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    sent: list[int] = []
    meta = ann.files_upload(source, progress=sent.append)
    assert meta.size == len(data) and sum(sent) == len(data) and len(sent) > 1
    assert meta.sha256 == hashlib.sha256(data).hexdigest()
    received: list[int] = []
    target = tmp_path / "copy.bin"
    assert ann.files_download(meta.id, target, progress=received.append) == len(data)
    assert target.read_bytes() == data and sum(received) == len(data)
    assert [f.id for f in ann.files_list().items] == [meta.id]
    ann.files_delete(meta.id)
    with pytest.raises(ProblemError) as gone:
        ann.files_download(meta.id, tmp_path / "never.bin")
    assert gone.value.status == 404
    assert not (tmp_path / "never.bin").exists()


def test_an_expired_access_token_is_refreshed_once_with_rotation(base_url: str, mint_token) -> None:
    _, credentials = register_and_login(base_url)
    seen: list[Credentials] = []
    # The services refuse it (expired), as they would an access token that outlived its 15 min.
    expired = Credentials(mint_token(ttl=-60), credentials.refresh_token, credentials.device_token)
    with SuiteClient(base_url, credentials=expired, on_credentials=seen.append) as client:
        me = client.auth_me()
    assert len(seen) == 1 and seen[0].refresh_token != credentials.refresh_token
    with SuiteClient(base_url, credentials=seen[0]) as client:
        assert client.auth_me().id == me.id
    # Rotation: the refresh token used is dead now.
    with SuiteClient(base_url, credentials=credentials) as client, pytest.raises(ProblemError) as e:
        client.auth_refresh()
    assert e.value.status == 401


async def test_concurrent_calls_share_one_refresh(base_url: str, mint_token) -> None:
    _, credentials = register_and_login(base_url)
    seen: list[Credentials] = []
    expired = Credentials(mint_token(ttl=-60), credentials.refresh_token, credentials.device_token)
    async with AsyncSuiteClient(base_url, credentials=expired, on_credentials=seen.append) as c:
        answers = await asyncio.gather(*(c.todos_list() for _ in range(8)), c.auth_me())
    assert len(seen) == 1, "one refresh for every call that saw the 401"
    assert all(page.items == [] for page in answers[:-1])


async def test_the_async_client_does_what_the_sync_one_does(base_url: str, tmp_path: Path) -> None:
    name, credentials = register_and_login(base_url)
    async with AsyncSuiteClient(base_url, credentials=credentials) as client:
        assert (await client.auth_me()).username == name
        todo = await client.todos_create(title="async")
        assert [t.id async for t in client.todos_iter()] == [todo.id]
        source = tmp_path / "a.txt"
        source.write_bytes(b"hello async")
        meta = await client.files_upload(source)
        target = tmp_path / "b.txt"
        await client.files_download(meta.id, target)
        assert target.read_bytes() == b"hello async"
        sessions = await client.auth_sessions_list()
        assert [s.current for s in sessions] == [True]
        await client.auth_logout()
        assert client.credentials.access_token is None
        with pytest.raises(ProblemError) as refused:
            await client.todos_list()
        assert refused.value.status == 401


class LosesFirstAnswer(httpx.BaseTransport):
    """The network drops the first POST's answer after the server acted on it."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.keys: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path == "/api/v1/todos":
            self.keys.append(request.headers["idempotency-key"])
            if len(self.keys) == 1:
                response.read()
                raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_a_post_whose_answer_was_lost_is_retried_once_in_effect(base_url: str) -> None:
    _, credentials = register_and_login(base_url)
    network = LosesFirstAnswer()
    with SuiteClient(base_url, credentials=credentials, transport=network) as client:
        todo = client.todos_create(title="exactly once")
        assert [t.id for t in client.todos_iter()] == [todo.id]
    assert len(network.keys) == 2 and network.keys[0] == network.keys[1]


def test_errors_carry_the_problem(ann: SuiteClient) -> None:
    with pytest.raises(ProblemError) as invalid:
        ann.todos_create(title="")
    problem = invalid.value.problem
    assert (problem.status, problem.code) == (422, "validation_failed")
    assert problem.errors and problem.errors[0].loc[-1] == "title"
    with pytest.raises(ProblemError) as forbidden:
        ann.users_list()
    assert forbidden.value.status == 403 and forbidden.value.request_id


def admin_client(base_url: str) -> SuiteClient:
    secret = os.environ.get("E2E_ADMIN_PASSWORD_FILE", suite.E2E.state / "admin-password")
    password = Path(secret).read_text().strip()
    client = SuiteClient(base_url)
    client.auth_login(username="admin", password=password)
    return client


def test_a_disabled_account_is_refused_everywhere_within_a_second(
    base_url: str, client: httpx.Client, eventually
) -> None:
    name, credentials = register_and_login(base_url)
    headers = {"Authorization": f"Bearer {credentials.access_token}"}
    with SuiteClient(base_url, credentials=credentials) as user:
        user_id = user.auth_me().id
    with admin_client(base_url) as admin:
        admin.auth_admin_disable(user_id)
        for service in ("auth", "users", "todos", "files"):
            eventually(
                lambda s=service: (
                    client.get(f"/api/v1/{s}/ping", headers=headers).status_code == 401
                ),
                within=1.0,
                what=f"{service} refusing the disabled account's token",
            )
        with SuiteClient(base_url) as again, pytest.raises(ProblemError) as refused:
            again.auth_login(username=name, password=PASSWORD)
        assert (refused.value.status, refused.value.code) == (403, "account_disabled")
        log = admin.auth_admin_events_list(user_id=user_id, type="account_disabled").items
        assert [e.actor_id for e in log] == [admin.auth_me().id]
        admin.auth_admin_enable(user_id)
    with SuiteClient(base_url) as back:
        back.auth_login(username=name, password=PASSWORD)
        kinds = [e.type for e in back.auth_events_list().items]
        assert kinds[0] == "login_succeeded"
        assert {"login_failed", "account_disabled", "account_enabled", "session_revoked"} <= set(
            kinds
        )


def test_two_factor_sign_in_through_the_gateway(base_url: str) -> None:
    name, credentials = register_and_login(base_url)
    with SuiteClient(base_url, credentials=credentials) as client:
        setup = client.auth_mfa_totp_setup()
        totp = pyotp.TOTP(setup.secret)
        recovery = client.auth_mfa_totp_enable(code=totp.now()).recovery_codes
    with SuiteClient(base_url) as client:
        with pytest.raises(ProblemError) as needed:
            client.auth_login(username=name, password=PASSWORD)
        assert needed.value.code == "mfa_required" and client.credentials.access_token is None
        tokens = client.auth_login_mfa(mfa_token=needed.value.extras["mfa_token"], code=recovery[0])
        claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
        assert claims["amr"] == ["pwd", "otp"]
        assert client.auth_me().username == name
        assert "mfa_enabled" in [e.type for e in client.auth_events_list().items]


def test_signing_in_with_an_openid_provider_through_the_gateway(base_url: str) -> None:
    with SuiteClient(base_url) as client:
        try:
            login_page = client.auth_oidc_start("local")
        except ProblemError as error:
            pytest.skip(f"this suite has no OpenID provider 'local' ({error.code})")
        callback = f"{base_url}/api/v1/auth/oidc/local/callback"
        back = oidc_provider.sign_in(login_page, login="carol", stop_at=callback)
        query = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
        tokens = client.auth_oidc_callback("local", state=query["state"], code=query["code"])
        claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
        assert claims["amr"] == ["fed"]
        me = client.auth_me()
        assert (me.email, me.email_verified) == ("carol@example.com", True)
        assert client.todos_list().items == []  # the token works across the suite
