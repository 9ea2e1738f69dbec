"""One database per URL: SQLite (WAL, busy timeout, foreign keys, `BEGIN IMMEDIATE` for writes)
or PostgreSQL through psycopg 3; schema migrations at start; transactions retried when the
database reports a serialization failure, a deadlock or a busy SQLite file."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL, Connection, Engine, make_url

from services.learning.errors import Unavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Attempts of one transaction before its error goes to the caller.
ATTEMPTS = 8
# PostgreSQL: serialization_failure, deadlock_detected.
RETRY_SQLSTATES = {"40001", "40P01"}


class DatabaseError(RuntimeError):
    """The database cannot be used (unreachable, bad URL, failed migration)."""


def normalize_url(raw: str) -> URL:
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def masked_url(raw: str) -> str:
    """The URL with its password replaced by ***, safe to show and log."""
    try:
        return normalize_url(raw).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL must still never be shown as it is
        return "(unparsable URL)"


def _retryable(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in RETRY_SQLSTATES:
        return True
    text = str(orig or exc).lower()
    return "database is locked" in text or "database is busy" in text


def insert_many(conn: Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys) in the connection's transaction. On PostgreSQL
    as one COPY: psycopg pipelines an executemany as one statement per row at about 0.15 ms of
    CPU each, which made a call's four vote rows the costliest part of recording it. A driver
    error comes back as SQLAlchemy's DBAPIError, as from any other statement."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    import psycopg

    columns = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
    try:
        with (
            conn.connection.driver_connection.cursor() as cursor,
            cursor.copy(statement) as copy,
        ):
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError(statement, None, exc) from exc


class Database:
    """An engine plus the transaction helpers every core module uses."""

    def __init__(self, raw_url: str, pool_size: int = 8, busy_timeout_ms: int = 10000) -> None:
        try:
            self.url = normalize_url(raw_url)
        except sa.exc.ArgumentError:
            raise DatabaseError("the URL cannot be parsed") from None
        if self.url.drivername not in ("sqlite", "postgresql+psycopg"):
            raise DatabaseError(
                f"{self.url.drivername!r} databases are not supported: use sqlite:///PATH or "
                "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        self.kind = "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"
        self.shown_url = masked_url(raw_url)
        if self.kind == "sqlite":
            self.engine = self._sqlite_engine(pool_size, busy_timeout_ms)
        else:
            self.engine = sa.create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=0,
                # A connection dropped by the server (restart, idle timeout) is replaced.
                pool_pre_ping=True,
            )

    def _sqlite_engine(self, pool_size: int, busy_timeout_ms: int) -> Engine:
        database = self.url.database or ""
        if not database or database == ":memory:":
            raise DatabaseError("the SQLite URL must name a file, e.g. sqlite:///data/learning.db")
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=0,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        )

        @sa.event.listens_for(engine, "connect")
        def on_connect(dbapi_connection, _record) -> None:
            # Let SQLAlchemy's begin hook, not the driver, decide how transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            # WAL: readers never block the writer nor the writer readers.
            cursor.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across application crashes in WAL mode, and much faster.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def on_begin(connection: Connection) -> None:
            # A writer takes the write lock at BEGIN: two read-modify-write transactions can
            # never both read the old ratings (SQLite has no SELECT ... FOR UPDATE).
            if connection.get_execution_options().get("write"):
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.exec_driver_sql("BEGIN")

        return engine

    def migrate(self) -> str:
        """Upgrade the schema to the newest revision; return it."""
        return self.upgrade("head")

    def upgrade(self, revision: str) -> str:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect().execution_options(write=True) as connection:
            if self.kind == "postgresql":
                # Two replicas starting together must not both create the tables.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(515400001)")
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
            return MigrationContext.configure(connection).get_current_revision() or ""

    def read(self, work: Callable[[Connection], T]) -> T:
        with self.engine.connect() as connection:
            return work(connection)

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction, retried on serialization failures, deadlocks
        and a busy SQLite file; any other error rolls back and propagates."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with (
                    self.engine.connect().execution_options(write=True) as connection,
                    connection.begin(),
                ):
                    return work(connection)
            except sa.exc.DBAPIError as exc:
                if attempt == ATTEMPTS or not _retryable(exc):
                    raise
                logger.info("retrying a transaction (attempt %d): %s", attempt, exc.orig)
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.engine.dispose()


def write_batch(
    db: Database,
    work: Callable[[Connection], dict[int, T]],
    items: Sequence[int],
    alone: Callable[[int], T],
    what: Callable[[int], str],
    refused: str,
) -> dict[int, T | Exception]:
    """`work` over a batch of `items` in one transaction; if the database refuses it, each item
    again on its own through `alone(i)`, so that only the item at fault fails: its error is
    logged as "`what(i)` failed" and answered Unavailable(`refused`). A batch of one raises."""
    try:
        return db.write(work)
    except sa.exc.SQLAlchemyError:
        if len(items) == 1:
            raise
    done: dict[int, T | Exception] = {}
    for i in items:
        try:
            done[i] = alone(i)
        except sa.exc.SQLAlchemyError:
            logger.exception("%s failed", what(i))
            done[i] = Unavailable(refused)
    return done
