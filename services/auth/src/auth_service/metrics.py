"""Metrics of the auth service: logins by outcome, throttling by layer."""

from typing import get_args

from prometheus_client import Counter

from auth_service.throttle import ThrottleReason

LOGINS = Counter(
    "auth_logins_total",
    "Login attempts by outcome (success, invalid_credentials, throttled)",
    ["outcome"],
)
LOGIN_THROTTLED = Counter(
    "auth_login_throttled_total",
    "Logins refused before the password check, by layer (pair_locked, account_delay, ...)",
    ["reason"],
)


def show_every_throttling_layer() -> None:
    """Each layer's series from start-up, at 0: a panel or alert reads 0 before the first refusal,
    not "no data"."""
    for reason in get_args(ThrottleReason):
        LOGIN_THROTTLED.labels(reason=reason)
