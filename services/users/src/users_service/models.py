"""Tables of the users service's own database."""

from shared.db import make_metadata
from shared.events import define_event_tables
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = make_metadata()


EVENT_TABLES = define_event_tables(Base.metadata)
