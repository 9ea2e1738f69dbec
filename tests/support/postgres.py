"""The PostgreSQL tests use: the server at 127.0.0.1:5432 (or FREESCALING_TEST_PG_HOST/PORT),
a fresh uniquely named database per use, dropped afterwards. Without a reachable server the
PostgreSQL tests are skipped with the reason, unless CI is set: then they fail."""

from __future__ import annotations

import getpass
import os
import uuid

import psycopg
import pytest

# Where the PostgreSQL runs go; the environment may point elsewhere (another CI service).
PG_HOST = os.environ.get("FREESCALING_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("FREESCALING_TEST_PG_PORT", "5432"))
PG_DB = "test"
_admin: dict[str, object] = {}


def pg_user() -> tuple[str | None, str]:
    """The first user that connects (postgres, else the current user), or None and why."""
    if "result" not in _admin:
        problems = []
        for user in dict.fromkeys(["postgres", getpass.getuser()]):
            try:
                with psycopg.connect(
                    host=PG_HOST, port=PG_PORT, user=user, dbname=PG_DB, connect_timeout=3
                ):
                    _admin["result"] = (user, "")
                    break
            except psycopg.Error as exc:
                problems.append(f"{user}: {str(exc).strip().splitlines()[0]}")
        else:
            _admin["result"] = (
                None,
                f"no PostgreSQL at {PG_HOST}:{PG_PORT}/{PG_DB} ({'; '.join(problems)})",
            )
    return _admin["result"]  # type: ignore[return-value]


def require_postgres() -> str:
    user, why = pg_user()
    if user is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"CI is set and {why}")
        print(f"skipping the PostgreSQL variant: {why}")
        pytest.skip(why)
    return user


class PostgresDatabase:
    """A uniquely named database, created now, dropped by `drop()`."""

    def __init__(self, password: str = "") -> None:
        self.user = require_postgres()
        self.name = f"fs_learning_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        secret = f":{password}" if password else ""
        self.url = f"postgresql://{self.user}{secret}@{PG_HOST}:{PG_PORT}/{self.name}"

    def _admin(self):
        return psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=self.user, dbname=PG_DB, autocommit=True
        )

    def drop(self) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
