"""What the todos service is, without starting it: what `migrate` needs."""

from pathlib import Path

from shared.contracts import FileDeleted, FileUploaded, UserDeleted
from shared.spec import ServiceSpec
from todos_service.models import EVENT_TABLES

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

SPEC = ServiceSpec(
    name="todos",
    title="Todos",
    description=(
        "Your todos: ETags and If-Match for safe edits, keyset pages newest first with signed cursors, and attachments that must be files of yours."
    ),
    migrations_dir=MIGRATIONS_DIR,
    event_tables=EVENT_TABLES,
    consumes=(FileUploaded, FileDeleted, UserDeleted),
)
