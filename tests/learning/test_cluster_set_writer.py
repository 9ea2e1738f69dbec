"""One writer for the `cluster_sets` table. RecordClusterSet and StoreCentroids once wrote it from
two modules, each with its own insert and its own idea of a conflict; they drifted apart. This
reads the learning service's source and fails when a row of the table is written anywhere but
the one function in services/learning/cluster_sets.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

LEARNING = Path(__file__).resolve().parents[2] / "services" / "learning"
# Core and raw-SQL writes: cluster_sets.insert(), sa.update(cluster_sets), INSERT INTO cluster_sets.
WRITE = re.compile(
    r"cluster_sets\s*\.\s*(insert|update|delete)\s*\("
    r"|\b(insert|update|delete)\s*\(\s*cluster_sets\b"
    r"|\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+cluster_sets\b",
    re.IGNORECASE,
)


def test_only_the_cluster_set_module_writes_the_table():
    writers = sorted(
        str(path.relative_to(LEARNING))
        for path in LEARNING.rglob("*.py")
        if "migrations" not in path.parts and WRITE.search(path.read_text())
    )
    assert writers == ["cluster_sets.py"]


def test_one_function_of_the_cluster_set_module_writes_the_table():
    tree = ast.parse((LEARNING / "cluster_sets.py").read_text())
    writing = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and WRITE.search(ast.unparse(node))
    ]
    assert writing == ["_write"]
