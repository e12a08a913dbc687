"""HTTP routes of the todos service (thin: status codes, headers, schemas)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/todos", tags=["todos"])
