"""The whole API in one asyncio client."""

from __future__ import annotations

from suite_client._async.admin import AsyncAdmin
from suite_client._async.auth import AsyncAuth
from suite_client._async.files import AsyncFiles
from suite_client._async.todos import AsyncTodos
from suite_client._async.users import AsyncUsers


class AsyncSuiteClient(AsyncAuth, AsyncAdmin, AsyncUsers, AsyncTodos, AsyncFiles):
    """The suite's API; every method named after its operationId in the OpenAPI document.

    Errors raise `ProblemError`; a 401 is answered by one token refresh (with rotation) and the
    request sent again; safe requests, and POSTs carrying an Idempotency-Key, are retried on
    connection failures and 429/502/503/504 within the retry policy.
    """
