"""Fixtures that start real services: processes on ephemeral loopback ports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.processes import ROOT, Stack

_WRITE_BOTH = (
    "import sys\n"
    "from services.classifier import tiny_checkpoint, tiny_embedder\n"
    "sys.exit(tiny_checkpoint.main([sys.argv[1]]) or tiny_embedder.main([sys.argv[2]]))\n"
)


@pytest.fixture(scope="session")
def classifier_checkpoint(tmp_path_factory):
    """A small random-weight checkpoint in the published classifier's format, written once per
    session (it costs torch's import and a save: seconds). Not autouse: a test or fixture that
    starts a classifier process requests it, and every classifier process started after that
    (and `make run`'s) loads it, offline; tests that start none (deploy, settings) never pay."""
    directory = tmp_path_factory.mktemp("classifier") / "tiny"
    # The routing embedder: a small sentence-transformers-format model, loaded through the
    # same path as the default all-MiniLM-L6-v2 (32 wide, so it never passes for the
    # checkpoint's 64-wide pooled state). Both in one process: one torch import, not two.
    embedder = directory.parent / "tiny-embedder"
    subprocess.run(
        [sys.executable, "-c", _WRITE_BOTH, str(directory), str(embedder)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FREESCALING_CLASSIFIER_MODEL", str(directory))
        env.setenv("FREESCALING_CLASSIFIER_EMBEDDER", str(embedder))
        # Never the repository's ./data: fitted centroids stay in the session's temp dir.
        env.setenv(
            "FREESCALING_CLASSIFIER_CENTROIDS", str(directory.parent / "centroids.safetensors")
        )
        yield directory


@pytest.fixture(scope="session")
def stack(tmp_path_factory, classifier_checkpoint):
    """The four services wired as `make run` wires them, shared by the tests that only read."""
    running = Stack(tmp_path_factory.mktemp("stack")).start()
    yield running
    running.stop()
