"""Sending a request: the bearer token, refresh on 401, bounded retries, problems as errors.

Written once for asyncio; `python -m tools.client_gen` derives the sync twin in `_sync/` (unasync).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from suite_client._async.concurrency import Lock, sleep
from suite_client.credentials import Credentials, CredentialsListener
from suite_client.models import TokenPair
from suite_client.problem import ProblemError
from suite_client.retry import RETRY_STATUSES, RetryPolicy, never_sent

DEFAULT_URL = "http://127.0.0.1:8080"
USER_AGENT = "suite-client/0.1"

# Keyword arguments for httpx's request body (`files=`, `content=`), rebuilt for every attempt.
BodyFactory = Callable[[], Mapping[str, Any]]


class AsyncBase:
    """The connection and the credentials every operation of the client shares."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        credentials: Credentials | None = None,
        on_credentials: CredentialsListener | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )
        self._credentials = credentials or Credentials()
        self._on_credentials = on_credentials
        self._retry = retry or RetryPolicy()
        self._refreshing = Lock()

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    def _set_credentials(self, credentials: Credentials) -> None:
        self._credentials = credentials
        if self._on_credentials is not None:
            self._on_credentials(credentials)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        body: BodyFactory | None = None,
        headers: Mapping[str, str] | None = None,
        authenticated: bool = True,
        retryable: bool | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One operation: retried while that is safe, refreshed once on 401, raised on error.

        `retryable` defaults to the method being safe; a POST is retryable when it carries an
        Idempotency-Key. With `stream`, the caller reads and closes the successful response.
        """
        safe = method in ("GET", "HEAD") if retryable is None else retryable
        attempt, refreshed = 0, False
        while True:
            token = self._credentials.access_token if authenticated else None
            request = self._http.build_request(
                method,
                path,
                params=_present(params),
                json=json,
                headers=_with_bearer(headers, token),
                **(body() if body is not None else {}),
            )
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as error:
                if (safe or never_sent(error)) and self._retry.may_retry(attempt):
                    await sleep(self._retry.delay(attempt))
                    attempt += 1
                    continue
                raise
            if response.status_code == 401 and token is not None and not refreshed:
                await response.aclose()
                await self._refresh_once(used=token)
                refreshed = True
                continue
            if response.status_code in RETRY_STATUSES and safe and self._retry.may_retry(attempt):
                await response.aclose()
                await sleep(self._retry.delay(attempt, response))
                attempt += 1
                continue
            if response.is_error or not stream:
                await response.aread()  # reads the whole body and releases the connection
            if response.is_error:
                raise ProblemError.from_response(response)
            return response

    async def _refresh_once(self, *, used: str) -> None:
        """Trade the refresh token for a new pair, unless a concurrent call already did."""
        async with self._refreshing:
            if self._credentials.access_token != used or not self._credentials.refresh_token:
                return
            await self._refresh()

    async def _refresh(self) -> TokenPair:
        # Rotation: the old refresh token dies here, so this is never retried blindly (a replay
        # of a used refresh token revokes the whole session).
        try:
            response = await self._send(
                "POST",
                "/api/v1/auth/refresh",
                json={"refresh_token": self._credentials.refresh_token},
                authenticated=False,
                retryable=False,
            )
        except ProblemError as error:
            if error.status == 401:
                self._set_credentials(self._credentials.signed_out())
            raise
        pair = TokenPair.model_validate_json(response.content)
        self._set_credentials(
            Credentials(pair.access_token, pair.refresh_token, self._credentials.device_token)
        )
        return pair


def _present(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the ones left out (None)."""
    if params is None:
        return None
    return {name: value for name, value in params.items() if value is not None}


def _with_bearer(headers: Mapping[str, str] | None, token: str | None) -> dict[str, str]:
    merged = dict(headers or {})
    if token is not None:
        merged["Authorization"] = f"Bearer {token}"
    return merged
