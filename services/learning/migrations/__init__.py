"""Alembic migrations of the learning database, applied by `services.learning.db.migrate`."""
