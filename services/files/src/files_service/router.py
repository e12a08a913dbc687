"""HTTP routes of the files service (thin: status codes, headers, schemas)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/files", tags=["files"])
