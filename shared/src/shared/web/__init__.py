"""FastAPI glue of the shared library: problem handlers, auth dependency, health, app defaults."""
