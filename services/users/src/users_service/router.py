"""HTTP routes of the users service (thin: status codes, headers, schemas)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/users", tags=["users"])
