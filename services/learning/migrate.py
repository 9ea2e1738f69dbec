"""`python -m services.learning.migrate [REVISION]`: upgrade the learning database (from
FREESCALING_LEARNING_DATABASE_URL) to REVISION, the newest by default, and exit. The service
does the same at every start; this is for an init container or a release step."""

from __future__ import annotations

import sys

from services.common.settings import SettingsError, load
from services.learning.config import LearningSettings
from services.learning.db import Database


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    revision = argv[0] if argv and not argv[0].startswith("-") else "head"
    try:
        settings = load(LearningSettings, [a for a in argv if a.startswith("-")])
    except SettingsError as exc:
        print(f"learning migrate: bad setting: {exc}", file=sys.stderr)
        return 2
    db = Database(settings.database_url, 1, settings.sqlite_busy_timeout_ms)
    try:
        print(f"{db.shown_url}: schema at revision {db.upgrade(revision)}")
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
