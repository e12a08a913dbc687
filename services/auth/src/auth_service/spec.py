"""What the auth service is, without starting it: what `migrate` needs."""

from pathlib import Path

from auth_service.models import EVENT_TABLES
from shared.contracts import MailQueued, PasswordResetRequested, UserDeleted
from shared.spec import ServiceSpec

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

SPEC = ServiceSpec(
    name="auth",
    title="Auth",
    description=(
        "Accounts, logins and sessions: registration, email verification, password reset, rotating refresh tokens, revocation that reaches every service within a second, and the public keys access tokens are verified with."
    ),
    migrations_dir=MIGRATIONS_DIR,
    event_tables=EVENT_TABLES,
    consumes=(UserDeleted, MailQueued, PasswordResetRequested),
    requires_redis=True,  # login throttling lives there
)
