"""Deployment files and the scripts that generate some of them (`python -m deploy.<name>`)."""
