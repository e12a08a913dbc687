"""A typed client for the suite's API, asynchronous and synchronous.

    with SuiteClient("http://127.0.0.1:8080") as suite:
        suite.auth_login(username="ann", password="correct horse battery")
        todo = suite.todos_create(title="Water the plants")

Methods are named after the operationIds of the gateway's OpenAPI document; every error answer
raises `ProblemError`, which carries the RFC 9457 problem (`status`, `code`, `request_id`).
"""

from suite_client._async.client import AsyncSuiteClient
from suite_client._sync.client import SuiteClient
from suite_client.body import UNSET
from suite_client.credentials import Credentials
from suite_client.problem import ProblemError
from suite_client.retry import RetryPolicy

__all__ = [
    "UNSET",
    "AsyncSuiteClient",
    "Credentials",
    "ProblemError",
    "RetryPolicy",
    "SuiteClient",
]
