"""What the files service is, without starting it: what `migrate` needs."""

from pathlib import Path

from files_service.models import EVENT_TABLES
from shared.contracts import UserDeleted
from shared.spec import ServiceSpec

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

SPEC = ServiceSpec(
    name="files",
    title="Files",
    description=(
        "Your files: streamed uploads with SHA-256 and quotas, content type from the bytes, downloads with ranges and conditional requests."
    ),
    migrations_dir=MIGRATIONS_DIR,
    event_tables=EVENT_TABLES,
    consumes=(UserDeleted,),
)
