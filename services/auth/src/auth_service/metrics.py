"""Metrics of the auth service: logins by outcome, throttling by layer."""

from prometheus_client import Counter

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
