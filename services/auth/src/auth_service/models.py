"""Tables of the auth service's own database."""

from sqlalchemy.orm import DeclarativeBase

from shared.db import make_metadata
from shared.events import define_event_tables


class Base(DeclarativeBase):
    metadata = make_metadata()


EVENT_TABLES = define_event_tables(Base.metadata)
