"""Generate the package-qualified Python code for protos/ (messages, gRPC stubs, .pyi stubs).

`python tools/gen_protos.py` writes into ./freescaling; `--check` regenerates into a scratch
directory and fails, naming the files, when the committed code differs (stale or hand-edited).
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.resources
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE = "freescaling"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> None:
    from grpc_tools import protoc

    well_known = importlib.resources.files("grpc_tools") / "_proto"
    protos = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed; see the messages above")
    # Every folder on the way down is a regular package, so imports read
    # `from freescaling.gateway.v1 import gateway_pb2`.
    for folder in {p.parent for p in (out_dir / PACKAGE).rglob("*_pb2.py")}:
        while folder != out_dir:
            init = folder / "__init__.py"
            if not init.exists():
                init.write_text("")
            folder = folder.parent


def generated_files(root: Path) -> set[Path]:
    return {
        p.relative_to(root)
        for p in (root / PACKAGE).rglob("*")
        if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    }


def check() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        generate(fresh)
        expected, present = generated_files(fresh), generated_files(ROOT)
        stale = sorted(
            str(p)
            for p in expected
            if p not in present or not filecmp.cmp(fresh / p, ROOT / p, shallow=False)
        )
        orphans = sorted(str(p) for p in present - expected)
    if stale or orphans:
        for name in stale:
            print(f"stale generated file: {name}", file=sys.stderr)
        for name in orphans:
            print(f"generated file without a .proto: {name}", file=sys.stderr)
        print("run `make protos` and commit the result", file=sys.stderr)
        return 1
    print(f"generated code is up to date ({len(expected)} files)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed code is stale")
    args = parser.parse_args()
    if args.check:
        return check()
    generate(ROOT)
    print(f"generated {len(generated_files(ROOT))} files under {PACKAGE}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
