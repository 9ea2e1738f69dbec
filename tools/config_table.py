"""Print the README's configuration table from the services' settings classes (the source of
truth), or with --check fail when the README's copy differs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.classifier.config import ClassifierSettings  # noqa: E402
from services.common.server_settings import ServerSettings  # noqa: E402
from services.common.settings import describe  # noqa: E402
from services.ensemble.config import EnsembleSettings  # noqa: E402
from services.gateway.config import GatewaySettings  # noqa: E402
from services.learning.config import LearningSettings  # noqa: E402

START, END = "<!-- config-table:start -->", "<!-- config-table:end -->"
README = ROOT / "README.md"


def table() -> str:
    common = {r["env"] for r in describe(ServerSettings)}
    lines = ["| variable | flag | service | default | meaning |", "|---|---|---|---|---|"]

    def add(rows, service):
        for r in rows:
            default = f"`{r['default']}`" if r["default"] else "(empty)"
            lines.append(f"| `{r['env']}` | `{r['flag']}` | {service} | {default} | {r['help']} |")

    add(describe(ServerSettings), "all")
    for name, cls in [
        ("gateway", GatewaySettings),
        ("classifier", ClassifierSettings),
        ("ensemble", EnsembleSettings),
        ("learning", LearningSettings),
    ]:
        add([r for r in describe(cls) if r["env"] not in common], name)
    return "\n".join(lines)


def readme_table() -> str:
    text = README.read_text()
    return text[text.index(START) + len(START) : text.index(END)].strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--write", action="store_true", help="replace the README's table")
    args = parser.parse_args()
    if args.check:
        if readme_table() != table():
            print("README.md's configuration table is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    if args.write:
        text = README.read_text()
        head, tail = text[: text.index(START) + len(START)], text[text.index(END) :]
        README.write_text(f"{head}\n{table()}\n{tail}")
        return 0
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
