"""The learning process: settings, database (migrated to the newest schema at start),
servicer, and the shared bootstrap."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa

from freescaling.learning.v1 import learning_pb2_grpc
from services.common import server
from services.common.health import Health
from services.learning.config import LearningSettings
from services.learning.db import Database, DatabaseError, masked_url
from services.learning.servicer import SERVICE, LearningServicer

logger = logging.getLogger(__name__)


def open_database(settings: LearningSettings) -> Database:
    """Connect and migrate, or raise StartupError naming the (masked) URL and the problem."""
    db = None
    try:
        db = Database(settings.database_url, settings.db_pool_size, settings.sqlite_busy_timeout_ms)
        revision = db.migrate()
    except (DatabaseError, sa.exc.SQLAlchemyError, OSError) as exc:
        shown = db.shown_url if db else masked_url(settings.database_url)
        detail = getattr(exc, "orig", None) or exc
        if db:
            db.close()
        raise server.StartupError(
            f"learning cannot use its database {shown}: {str(detail).splitlines()[0]}; check "
            "FREESCALING_LEARNING_DATABASE_URL"
        ) from None
    logger.info("database %s at schema revision %s", db.shown_url, revision)
    return db


def build(settings: LearningSettings, health: Health) -> server.Service:
    db = open_database(settings)
    servicer = LearningServicer(settings, health, db)

    async def on_stop() -> None:
        servicer.close()
        db.close()

    return server.Service(
        name="learning",
        grpc_service=SERVICE.full_name,
        port=settings.port,
        add_to_server=lambda srv: learning_pb2_grpc.add_LearningServicer_to_server(servicer, srv),
        on_stop=on_stop,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return server.main("learning", SERVICE.full_name, LearningSettings, build, argv)
