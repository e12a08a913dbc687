"""The one exception the client raises for an answer that is not a success."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from suite_client.models import Problem

PROBLEM_JSON = "application/problem+json"


class ProblemError(Exception):
    """The suite answered with an error; `problem` is its RFC 9457 document."""

    def __init__(self, problem: Problem, extras: dict[str, Any] | None = None) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail} ({problem.code})")
        self.problem = problem
        self.extras = extras or {}
        """Members beyond the standard ones (`mfa_token` of an `mfa_required`, for one)."""

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def code(self) -> str:
        return self.problem.code

    @property
    def request_id(self) -> str:
        return self.problem.request_id

    @classmethod
    def from_response(cls, response: httpx.Response) -> ProblemError:
        """Parse the problem document; an answer without one (a proxy's page) still becomes one."""
        if response.headers.get("content-type", "").startswith(PROBLEM_JSON):
            try:
                problem = Problem.model_validate_json(response.content)
            except ValidationError:
                pass
            else:
                members = response.json()
                extras = {k: v for k, v in members.items() if k not in Problem.model_fields}
                return cls(problem, extras)
        return cls(
            Problem(
                type="about:blank",
                title=response.reason_phrase or "Error",
                status=response.status_code,
                detail=response.text[:200] or "The answer carried no problem document.",
                code="unexpected_response",
                request_id=response.headers.get("x-request-id", ""),
            )
        )
