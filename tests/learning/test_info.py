"""GetInfo says which database (never its password), every RPC is built, and a database the
service cannot use stops it at start with a message naming the setting (password masked)."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest

from freescaling.common.v1 import info_pb2, ratings_pb2
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from tests.learning.conftest import PostgresDatabase, start_learning
from tests.learning.helpers import expect_error, scale_record
from tests.support.processes import ROOT, free_port

SECRET = "s3cret-pw-771"


def test_get_info_names_the_database_but_never_its_password(tmp_path):
    # Trust authentication ignores the password, so the service connects with it in the URL.
    database = PostgresDatabase(password=SECRET)
    try:
        learning = start_learning(tmp_path, database.url)
        try:
            stub = learning_pb2_grpc.LearningStub(learning.channel())
            info = stub.GetInfo(info_pb2.GetInfoRequest(), timeout=10)
            assert info.settings["database_kind"] == "postgresql"
            assert info.settings["database_url"].endswith(f":***@127.0.0.1:5432/{database.name}")
            assert all(c.built for c in info.capabilities)
            assert SECRET not in str(info)
        finally:
            assert learning.stop() == 0
        assert SECRET not in learning.log_text()
        assert any("schema revision 0003" in r["message"] for r in learning.log_records())
    finally:
        database.drop()


def test_sqlite_info(tmp_path):
    url = f"sqlite:///{tmp_path / 'deep' / 'folder' / 'learning.db'}"
    learning = start_learning(tmp_path, url)
    try:
        info = learning_pb2_grpc.LearningStub(learning.channel()).GetInfo(
            info_pb2.GetInfoRequest(), timeout=10
        )
        assert (info.settings["database_kind"], info.settings["database_url"]) == ("sqlite", url)
        assert (tmp_path / "deep" / "folder" / "learning.db").exists()
    finally:
        assert learning.stop() == 0


def _start(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "services.learning", "--port", "0", "--log-format", "text"],
        cwd=ROOT,
        env={"FREESCALING_LEARNING_DATABASE_URL": url, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            f"mysql://root:{SECRET}@db/learning",
            "learning cannot use its database mysql://root:***@db/learning: 'mysql' databases "
            "are not supported",
        ),
        (
            f"postgresql://nobody:{SECRET}@127.0.0.1:{free_port()}/none",
            "learning cannot use its database postgresql+psycopg://nobody:***@127.0.0.1",
        ),
    ],
    ids=["unsupported-scheme", "unreachable-postgres"],
)
def test_an_unusable_database_stops_the_start_with_a_clear_message(url, message):
    done = _start(url)
    assert done.returncode == 2
    output = done.stdout + done.stderr
    assert message in output
    assert SECRET not in output


def test_a_database_lost_while_serving_is_unavailable_and_the_service_lives(tmp_path):
    database = PostgresDatabase()
    learning = start_learning(tmp_path, database.url)
    try:
        stub = learning_pb2_grpc.LearningStub(learning.channel())
        stub.GetRankings(ratings_pb2.RankingsRequest(), timeout=10)
        database.drop()
        for call, request in [
            (stub.GetRankings, ratings_pb2.RankingsRequest()),
            (
                stub.RecordCall,
                learning_pb2.RecordCallRequest(record=scale_record({"a": "YES"}, "YES")),
            ),
        ]:
            expect_error(
                grpc.StatusCode.UNAVAILABLE, "the postgresql database is unavailable", call, request
            )
        assert learning.health("") == "SERVING"
    finally:
        assert learning.stop() == 0
        database.drop()
