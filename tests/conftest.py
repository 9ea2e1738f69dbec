"""Fixtures that start real services: processes on ephemeral loopback ports."""

from __future__ import annotations

import pytest

from tests.support.processes import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The four services wired as `make run` wires them, shared by the tests that only read."""
    running = Stack(tmp_path_factory.mktemp("stack")).start()
    yield running
    running.stop()
