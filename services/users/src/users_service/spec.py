"""What the users service is, without starting it: what `migrate` needs."""

from pathlib import Path

from shared.contracts import FileDeleted, FileUploaded, UserEmailVerified, UserRegistered
from shared.spec import ServiceSpec
from users_service.models import EVENT_TABLES

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

SPEC = ServiceSpec(
    name="users",
    title="Users",
    description=(
        "Profiles, made from `user.registered`: your own (with email), other users' public ones, and the admin listing. Deleting a profile deletes the user everywhere."
    ),
    migrations_dir=MIGRATIONS_DIR,
    event_tables=EVENT_TABLES,
    consumes=(UserRegistered, UserEmailVerified, FileUploaded, FileDeleted),
)
