"""The todos service."""
