"""Settings of the learning service."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.server_settings import ServerSettings
from services.common.settings import non_negative, port_number, positive, setting


def at_least_one(value: int) -> str | None:
    return None if value >= 1 else "must be 1 or more"


@dataclass(frozen=True)
class LearningSettings(ServerSettings):
    """Settings of the learning service."""

    port: int = setting(
        50054,
        "FREESCALING_LEARNING_PORT",
        "Port the learning service listens on",
        check=port_number,
    )
    # Secret: a PostgreSQL URL may carry a password; GetInfo and logs show it masked.
    database_url: str = setting(
        "sqlite:///data/learning.db",
        "FREESCALING_LEARNING_DATABASE_URL",
        "Database: sqlite:///PATH (WAL file, created with its folder) or "
        "postgresql://USER:PASSWORD@HOST:PORT/DB (psycopg 3); migrated to the newest schema "
        "at start",
        # Checked when the database opens (not here): the settings loader's error would echo
        # the value, password included.
        secret=True,
    )
    db_pool_size: int = setting(
        8,
        "FREESCALING_LEARNING_DB_POOL_SIZE",
        "Database connections, and threads running database work off the event loop",
        check=at_least_one,
    )
    sqlite_busy_timeout_ms: int = setting(
        10000,
        "FREESCALING_LEARNING_SQLITE_BUSY_TIMEOUT_MS",
        "How long a SQLite writer waits for the write lock before retrying",
        check=non_negative,
    )
    consensus_k: float = setting(
        16.0,
        "FREESCALING_LEARNING_CONSENSUS_K",
        "ELO K of the consensus update after each scale call",
        check=positive,
    )
    feedback_k: float = setting(
        64.0,
        "FREESCALING_LEARNING_FEEDBACK_K",
        "ELO K of a feedback event (user feedback weighs 4 times the consensus)",
        check=positive,
    )
    evolve_min_calls: int = setting(
        30,
        "FREESCALING_LEARNING_EVOLVE_MIN_CALLS",
        "Answered votes (panel votes with a parsed answer; failed, cancelled and abstained ones "
        "do not count) a model needs before evolution may put it on the champion panel",
        check=non_negative,
    )
    panel_size: int = setting(
        3,
        "FREESCALING_LEARNING_PANEL_SIZE",
        "Members of the champion panel evolution chooses",
        check=at_least_one,
    )
    profile_estimator: str = setting(
        "auto",
        "FREESCALING_LEARNING_PROFILE_ESTIMATOR",
        "How profile routing estimates a model's error rate on a prompt: auto (among the "
        "estimators that route the validation items about as well as the best in "
        "cross-validation, the one with the lowest log-loss: overall, cluster, "
        "task type or nearest items, each shrunk toward the model's overall error rate, a "
        "penalised logistic regression on the prompt's embedding, or a blend of the last two) or "
        "laplace (SPEC 6's (errors + 1) / (n + 2) on the prompt's cluster)",
        check=lambda v: None if v in ("auto", "laplace") else "must be auto or laplace",
    )
