"""HTTP routes of the auth service (thin: status codes, headers, schemas)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
