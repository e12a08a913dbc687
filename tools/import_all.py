"""`make lint`: every workspace member, installed alone in its own venv, imports all its modules.

    python -m tools.import_all             # each of tools.services.MEMBERS, in .state/venv-<member>
    python -m tools.import_all PACKAGE...  # every module of PACKAGE, in this interpreter

An import that works in the shared dev venv but fails alone is a dependency the member forgot to
declare.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import subprocess
import sys

from tools.infra import ROOT
from tools.services import MEMBERS


def import_every_module(packages: list[str]) -> None:
    for name in packages:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if module.name.endswith("__main__"):
                continue
            importlib.import_module(module.name)
        print(f"{name}: every module imports")


def check_each_member() -> None:
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` names itself in UV
    if uv is None:
        raise SystemExit("uv not found")
    for distribution, package in MEMBERS:
        venv = ROOT / ".state" / f"venv-{distribution}"
        env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
        env.pop("VIRTUAL_ENV", None)  # the dev venv `uv run` activated; this member gets its own
        sync = [uv, "sync", "--frozen", "--quiet", "--no-dev", "--package", distribution]
        subprocess.run(sync, env=env, cwd=ROOT, check=True)
        python = str(venv / "bin" / "python")
        if subprocess.run([python, "-m", "tools.import_all", package], cwd=ROOT).returncode:
            raise SystemExit(
                f"{distribution} fails to import alone: a dependency it does not declare?"
            )


if __name__ == "__main__":
    if sys.argv[1:]:
        import_every_module(sys.argv[1:])
    else:
        check_each_member()
