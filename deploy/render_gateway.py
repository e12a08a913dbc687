"""Write the gateway configs the deployments ship, rendered by gateway.nginx.render.

    python -m deploy.render_gateway           # rewrite both files
    python -m deploy.render_gateway --check   # exit 1 if either is stale (the tests do the same)

The compose config is copied into the gateway image; each k8s config becomes the gateway's
ConfigMap (configMapGenerator in deploy/k8s/base, merged over by each overlay's). Both are generated: edit
gateway/nginx/nginx.conf.j2, never these files. The merged OpenAPI document goes beside each;
it changes whenever a route does, and the tests say when it is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gateway.nginx import render
from gateway.openapi import merged_document

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
# nginx's resolver needs full names, so the namespace is rendered in: one config per overlay
# (its configMapGenerator merges it over the base's), and the base's for the default namespace.
# The tests check each against the overlay's `namespace:`.
K8S_NAMESPACES = {"base": None, "overlays/dev": "suite-dev", "overlays/prod": "suite"}
OUTPUTS: dict[Path, dict[str, str | None]] = {
    ROOT / "deploy" / "gateway" / "nginx.compose.conf": {"target": "compose"},
    **{
        K8S / folder / "gateway-nginx.conf": {"target": "k8s", "k8s_namespace": namespace}
        for folder, namespace in K8S_NAMESPACES.items()
    },
}
# The merged OpenAPI document the gateway serves, beside each config.
DOCUMENTS = [
    ROOT / "deploy" / "gateway" / "openapi.json",
    ROOT / "deploy" / "k8s" / "base" / "gateway-openapi.json",
]


def rendered() -> dict[Path, str]:
    """Each output file and the text it must hold."""
    files = {
        path: render.render(target=str(args["target"]), k8s_namespace=args.get("k8s_namespace"))
        for path, args in OUTPUTS.items()
    }
    document = json.dumps(merged_document(), indent=2, sort_keys=True) + "\n"
    return files | {path: document for path in DOCUMENTS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    stale = [path for path, text in rendered().items() if _read(path) != text]
    if args.check:
        for path in stale:
            sys.stderr.write(
                f"stale: {path.relative_to(ROOT)} (run python -m deploy.render_gateway)\n"
            )
        return 1 if stale else 0
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return 0


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
