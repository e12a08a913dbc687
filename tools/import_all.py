"""Import every module of the given packages: run in a member-only venv, it finds undeclared deps."""

from __future__ import annotations

import importlib
import pkgutil
import sys


def main(packages: list[str]) -> None:
    for name in packages:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if module.name.endswith("__main__"):
                continue
            importlib.import_module(module.name)
        print(f"{name}: every module imports")


if __name__ == "__main__":
    main(sys.argv[1:])
