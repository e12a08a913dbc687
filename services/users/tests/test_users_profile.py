"""A profile is created from `user.registered`, read by its owner and others, and edited by its owner."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from shared.contracts import FileDeleted, FileUploaded, UserEmailVerified, UserRegistered
from shared.events import DomainEvent
from shared.messaging.consumer import Handler
from shared.testing import assert_problem, broken_outbox_write, file_uploaded
from users_service.repository import ProfileRepository
from users_service.service import ProfileNotYetCreated
from users_service.spec import SPEC

ME = "/api/v1/users/me"
FULL_FIELDS = {
    "id",
    "email",
    "username",
    "display_name",
    "bio",
    "avatar_file_id",
    "email_verified",
    "created_at",
    "updated_at",
}
PUBLIC_FIELDS = {"id", "username", "display_name", "bio", "avatar_file_id", "created_at"}

Register = Callable[..., Awaitable[uuid.UUID]]
Auth = Callable[..., dict[str, str]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]
Upload = Callable[[uuid.UUID], Awaitable[uuid.UUID]]
Deliver = Callable[[DomainEvent], Awaitable[None]]


def test_the_service_consumes_user_registered(
    handlers: dict[type[DomainEvent], Handler],
) -> None:
    consumed = {UserRegistered, UserEmailVerified, FileUploaded, FileDeleted}
    assert set(SPEC.consumes) == consumed == set(handlers)


async def test_a_verified_email_shows_on_the_profile_once_it_exists(
    client: httpx.AsyncClient, register: Register, auth: Auth, deliver: Deliver
) -> None:
    early = uuid.uuid4()
    with pytest.raises(ProfileNotYetCreated):  # the consumer retries it after user.registered
        await deliver(UserEmailVerified(user_id=early, email="early@example.com"))
    user_id = await register(email="ann2@example.com", username="ann2")
    assert (await client.get(ME, headers=auth(user_id))).json()["email_verified"] is False
    await deliver(UserEmailVerified(user_id=user_id, email="old@example.com"))
    assert (await client.get(ME, headers=auth(user_id))).json()["email_verified"] is False
    await deliver(UserEmailVerified(user_id=user_id, email="ann2@example.com"))
    assert (await client.get(ME, headers=auth(user_id))).json()["email_verified"] is True


async def test_registration_creates_the_profile(
    client: httpx.AsyncClient, register: Register, auth: Auth
) -> None:
    user_id = await register(email="ann@example.com", username="ann")
    response = await client.get(ME, headers=auth(user_id))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == FULL_FIELDS
    assert body["id"] == str(user_id)
    assert (body["email"], body["username"]) == ("ann@example.com", "ann")
    assert (body["display_name"], body["bio"], body["avatar_file_id"]) == (None, None, None)
    assert body["created_at"] == body["updated_at"]


async def test_a_second_registration_leaves_the_profile_alone(
    client: httpx.AsyncClient, register: Register, auth: Auth
) -> None:
    user_id = await register(email="first@example.com", username="first")
    await client.patch(ME, headers=auth(user_id), json={"display_name": "Ann"})
    await register(user_id, email="second@example.com", username="second")
    body = (await client.get(ME, headers=auth(user_id))).json()
    assert (body["email"], body["username"], body["display_name"]) == (
        "first@example.com",
        "first",
        "Ann",
    )


async def test_me_is_not_found_before_the_profile_exists(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    assert_problem(await client.get(ME, headers=auth(uuid.uuid4())), 404, "not_found")
    assert_problem(await client.patch(ME, headers=auth(uuid.uuid4()), json={}), 404, "not_found")


async def test_a_subject_that_is_not_a_user_id_has_no_profile(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    assert_problem(await client.get(ME, headers=auth("service-account")), 404, "not_found")


async def test_patch_changes_only_the_fields_sent_and_null_clears(
    client: httpx.AsyncClient, register: Register, auth: Auth, upload: Upload
) -> None:
    user_id = await register()
    headers = auth(user_id)
    avatar = str(await upload(user_id))

    first = await client.patch(ME, headers=headers, json={"display_name": "Ann", "bio": "Hi."})
    assert first.status_code == 200, first.text
    assert (first.json()["display_name"], first.json()["bio"]) == ("Ann", "Hi.")

    second = (await client.patch(ME, headers=headers, json={"avatar_file_id": avatar})).json()
    assert (second["display_name"], second["bio"], second["avatar_file_id"]) == (
        "Ann",
        "Hi.",
        avatar,
    )

    third = (await client.patch(ME, headers=headers, json={"display_name": None})).json()
    assert (third["display_name"], third["bio"], third["avatar_file_id"]) == (None, "Hi.", avatar)

    cleared = {"bio": None, "avatar_file_id": None}
    fourth = (await client.patch(ME, headers=headers, json=cleared)).json()
    assert (fourth["display_name"], fourth["bio"], fourth["avatar_file_id"]) == (None, None, None)
    assert set(fourth) == FULL_FIELDS
    # The caller's own profile (email included) is personal data: no cache keeps it.
    for answer in (
        await client.get(ME, headers=headers),
        await client.patch(ME, headers=headers, json={}),
    ):
        assert answer.headers["cache-control"] == "no-store"
    assert fourth["updated_at"] >= fourth["created_at"]
    assert (await client.get(ME, headers=headers)).json() == fourth


async def test_display_name_is_trimmed_and_limits_are_inclusive(
    client: httpx.AsyncClient, register: Register, auth: Auth
) -> None:
    user_id = await register()
    body = {"display_name": "  Ann  ", "bio": "b" * 1000}
    response = await client.patch(ME, headers=auth(user_id), json=body)
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Ann"
    long_name = await client.patch(ME, headers=auth(user_id), json={"display_name": "é" * 100})
    assert long_name.json()["display_name"] == "é" * 100


async def test_patch_publishes_profile_updated_in_the_same_transaction(
    client: httpx.AsyncClient, register: Register, auth: Auth, outbox: Outbox, upload: Upload
) -> None:
    user_id = await register()
    avatar = await upload(user_id)
    body = {"display_name": "Ann", "avatar_file_id": str(avatar)}
    assert (await client.patch(ME, headers=auth(user_id), json=body)).status_code == 200
    [envelope] = await outbox("user.profile_updated")
    assert (envelope["type"], envelope["version"], envelope["producer"]) == (
        "user.profile_updated",
        1,
        "users",
    )
    assert envelope["data"] == {
        "user_id": str(user_id),
        "display_name": "Ann",
        "avatar_file_id": str(avatar),
    }


@pytest.mark.parametrize("body", [{}, {"display_name": "Ann"}], ids=["empty", "same_value"])
async def test_a_patch_that_changes_nothing_publishes_nothing(
    client: httpx.AsyncClient, register: Register, auth: Auth, outbox: Outbox, body: dict[str, Any]
) -> None:
    user_id = await register()
    await client.patch(ME, headers=auth(user_id), json={"display_name": "Ann"})
    response = await client.patch(ME, headers=auth(user_id), json=body)
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Ann"
    assert len(await outbox("user.profile_updated")) == 1


async def test_a_failed_outbox_write_leaves_the_profile_unchanged(
    client: httpx.AsyncClient,
    register: Register,
    auth: Auth,
    outbox: Outbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_id = await register()
    monkeypatch.setattr(ProfileRepository, "record", broken_outbox_write)
    failed = await client.patch(ME, headers=auth(user_id), json={"display_name": "Ann"})
    assert_problem(failed, 500, "internal_error")
    monkeypatch.undo()
    assert (await client.get(ME, headers=auth(user_id))).json()["display_name"] is None
    assert await outbox("user.profile_updated") == []


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "x" * 101},
        {"bio": "x" * 1001},
        {"display_name": ""},
        {"display_name": "   "},
        {"bio": ""},
        {"display_name": "a\u0000b"},
        {"bio": "a\u0000b"},
        {"display_name": 5},
        {"display_name": ["Ann"]},
        {"bio": {"text": "Hi"}},
        {"avatar_file_id": "not-a-uuid"},
        {"avatar_file_id": 7},
        {"email": "new@example.com"},
        {"username": "new"},
        {"display_name": "Ann", "unknown": 1},
        [],
        "Ann",
        None,
    ],
    ids=[
        "display_name_101",
        "bio_1001",
        "display_name_empty",
        "display_name_blank",
        "bio_empty",
        "display_name_nul",
        "bio_nul",
        "display_name_int",
        "display_name_list",
        "bio_object",
        "avatar_not_uuid",
        "avatar_int",
        "email_not_editable",
        "username_not_editable",
        "unknown_field",
        "array_body",
        "string_body",
        "null_body",
    ],
)
async def test_invalid_patches_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    register: Register,
    auth: Auth,
    outbox: Outbox,
    body: Any,
) -> None:
    user_id = await register()
    before = (await client.get(ME, headers=auth(user_id))).json()
    body_problem = assert_problem(
        await client.patch(ME, headers=auth(user_id), json=body), 422, "validation_failed"
    )
    assert body_problem["errors"], body_problem
    assert (await client.get(ME, headers=auth(user_id))).json() == before
    assert await outbox("user.profile_updated") == []


@pytest.mark.parametrize(
    "content", [b'{"display_name": ', b"not json", b"", b'{"bio": "\\ud800"}'], ids=str
)
async def test_malformed_json_is_refused(
    client: httpx.AsyncClient, register: Register, auth: Auth, content: bytes
) -> None:
    user_id = await register()
    headers = {**auth(user_id), "Content-Type": "application/json"}
    assert_problem(
        await client.patch(ME, headers=headers, content=content), 422, "validation_failed"
    )


async def test_public_profile_has_no_email_and_any_signed_in_user_sees_it(
    client: httpx.AsyncClient, register: Register, auth: Auth
) -> None:
    owner = await register(username="ann")
    await client.patch(ME, headers=auth(owner), json={"display_name": "Ann", "bio": "Hi."})
    response = await client.get(f"/api/v1/users/{owner}", headers=auth(uuid.uuid4()))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == PUBLIC_FIELDS
    assert (body["id"], body["username"], body["display_name"], body["bio"]) == (
        str(owner),
        "ann",
        "Ann",
        "Hi.",
    )


@pytest.mark.parametrize("user_id", [str(uuid.uuid4()), "not-a-uuid", "123"])
async def test_public_profile_of_an_unknown_or_malformed_id_is_not_found(
    client: httpx.AsyncClient, auth: Auth, user_id: str
) -> None:
    assert_problem(
        await client.get(f"/api/v1/users/{user_id}", headers=auth(uuid.uuid4())), 404, "not_found"
    )


async def test_an_avatar_must_be_a_live_file_of_ones_own(
    client: httpx.AsyncClient, register: Register, auth: Auth, upload: Upload, deliver: Deliver
) -> None:
    user_id, other = await register(), await register()
    theirs, gone = await upload(other), await upload(user_id)
    await deliver(FileDeleted(file_id=gone, owner_id=user_id))
    for file_id in (theirs, gone, uuid.uuid4()):
        response = await client.patch(
            ME, headers=auth(user_id), json={"avatar_file_id": str(file_id)}
        )
        body = assert_problem(response, 422, "invalid_avatar")
        assert [error["loc"] for error in body["errors"]] == [["body", "avatar_file_id"]]
    assert (await client.get(ME, headers=auth(user_id))).json()["avatar_file_id"] is None


async def test_a_deleted_file_stops_being_an_avatar_and_cannot_come_back(
    client: httpx.AsyncClient,
    register: Register,
    auth: Auth,
    upload: Upload,
    deliver: Deliver,
    outbox: Outbox,
) -> None:
    user_id = await register()
    avatar = await upload(user_id)
    patched = await client.patch(ME, headers=auth(user_id), json={"avatar_file_id": str(avatar)})
    assert patched.status_code == 200, patched.text
    await deliver(FileDeleted(file_id=avatar, owner_id=user_id))
    await deliver(FileDeleted(file_id=avatar, owner_id=user_id))  # a redelivery changes nothing
    assert (await client.get(ME, headers=auth(user_id))).json()["avatar_file_id"] is None
    cleared = [
        e for e in await outbox("user.profile_updated") if e["data"]["user_id"] == str(user_id)
    ]
    # One event set the avatar, one cleared it (a transaction's rows share one timestamp).
    assert sorted(str(e["data"]["avatar_file_id"]) for e in cleared) == sorted(
        [str(avatar), "None"]
    )
    # A late upload event finds the tombstone: the file never comes back.
    await deliver(file_uploaded(avatar, user_id))
    again = await client.patch(ME, headers=auth(user_id), json={"avatar_file_id": str(avatar)})
    assert_problem(again, 422, "invalid_avatar")
