"""No module under bench/ or tools/ takes the name of a standard-library module, of an installed
distribution's top-level package or of this project's own: run as `python bench/NAME.py`, a
script's folder comes first on sys.path, so a file there is imported in that module's place by
everything the script loads (bench/http.py once broke every benchmark that imported httpx or
urllib: "'http' is not a package")."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("bench", "tools")


def _modules(folder: Path) -> list[Path]:
    """What `import NAME` finds in the folder: NAME.py, or a package NAME/ with __init__.py."""
    return sorted(
        [p for p in folder.glob("*.py")]
        + [p for p in folder.iterdir() if (p / "__init__.py").exists()]
    )


def _taken() -> dict[str, str]:
    taken = {name: "the standard library" for name in sys.stdlib_module_names}
    for name, dists in importlib.metadata.packages_distributions().items():
        taken.setdefault(name, f"the installed {', '.join(sorted(set(dists)))}")
    for path in ROOT.iterdir():
        if (path / "__init__.py").exists():
            taken.setdefault(path.name, "this project")
    return taken


@pytest.mark.parametrize("folder", FOLDERS)
def test_no_module_shadows_another(folder):
    taken = _taken()
    modules = _modules(ROOT / folder)
    assert modules, f"{folder}/ has no modules: is the path right?"
    clashes = [
        f"{path.relative_to(ROOT)} is also {taken[path.stem]}'s {path.stem!r}"
        for path in modules
        if path.stem in taken
    ]
    assert not clashes, "; ".join(clashes) + ": rename it"


def test_the_check_knows_the_names_that_matter():
    taken = _taken()
    # The one that bit, a dependency every service imports, and this project's own package.
    assert {"http", "grpc", "services"} <= set(taken)
