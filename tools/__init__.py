"""The suite's development tools, run from the repository root as `python -m tools.<name>`.

Nothing is imported here: `tools.infra` must keep working before the workspace is installed.
"""
