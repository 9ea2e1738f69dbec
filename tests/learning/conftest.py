"""Every learning test runs twice: on a SQLite file and on the PostgreSQL at 127.0.0.1:5432
(a fresh database per module, dropped afterwards). Without a reachable server the PostgreSQL
runs are skipped with the reason, unless CI is set: then they fail."""

from __future__ import annotations

import pytest

from freescaling.learning.v1 import learning_pb2_grpc
from tests.support.postgres import PG_HOST, PG_PORT, PostgresDatabase, pg_user
from tests.support.processes import ServiceProcess

BACKENDS = ["sqlite", "postgres"]


def pytest_report_header(config):
    user, why = pg_user()
    if user:
        return f"learning: PostgreSQL at {PG_HOST}:{PG_PORT} as {user}"
    return f"learning: PostgreSQL runs will be skipped: {why}"


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A fresh, empty database of each kind for the module."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'learning.db'}"
        return
    database = PostgresDatabase()
    yield database.url
    database.drop()


def start_learning(workdir, url: str, **env: str) -> ServiceProcess:
    process = ServiceProcess(
        "learning", workdir, env={"FREESCALING_LEARNING_DATABASE_URL": url, **env}
    )
    return process.start().wait_serving().wait_ready()


@pytest.fixture(scope="module")
def learning(database_url, tmp_path_factory):
    process = start_learning(tmp_path_factory.mktemp("learning"), database_url)
    yield process
    assert process.stop() == 0


@pytest.fixture
def stub(learning):
    return learning_pb2_grpc.LearningStub(learning.channel())
