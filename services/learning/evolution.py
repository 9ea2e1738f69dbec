"""Panel evolution: the top models by ELO among those with enough answered votes become the
champion panel; a dry run only reports; every applied change is recorded with its reason and
time."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import models_pb2, ratings_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning import ratings
from services.learning.db import Database
from services.learning.errors import InvalidInput, NotFound
from services.learning.schema import panel_changes, panels

CHAMPION = "champion"


def _current(conn: Connection, name: str, lock: bool = False):
    query = sa.select(panels).where(panels.c.name == name)
    if lock and conn.dialect.name == "postgresql":
        # Serializes evolvers of one panel even while its row does not exist yet.
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("panel:" + name))))
    return conn.execute(query).first()


def evolve(
    db: Database, request: ratings_pb2.EvolveRequest, default_min_calls: int, default_size: int
) -> ratings_pb2.EvolveResult:
    if request.min_calls < 0 or request.panel_size < 0:
        raise InvalidInput("min_calls and panel_size must not be negative (0 uses the default)")
    min_calls = request.min_calls or default_min_calls
    size = request.panel_size or default_size

    def work(conn: Connection) -> ratings_pb2.EvolveResult:
        row = _current(conn, CHAMPION, lock=not request.dry_run)
        previous = json.loads(row.members) if row else []
        everyone = ratings.all_ratings(conn)
        # Answered votes only: calls that failed, were cancelled or abstained prove nothing.
        eligible = [r for r in everyone if r.answered >= min_calls]
        eligible.sort(key=lambda r: r.model)
        eligible.sort(key=lambda r: r.rating, reverse=True)
        result = ratings_pb2.EvolveResult(previous=previous, candidates=eligible)
        if len(eligible) < size:
            result.proposed.extend(previous)
            result.reason = (
                f"only {len(eligible)} of {len(everyone)} models have >= {min_calls} answered "
                f"votes; "
                f"a panel of {size} needs {size}: the champion panel stays as it is"
            )
            return result
        proposed = [r.model for r in eligible[:size]]
        result.proposed.extend(proposed)
        result.reason = (
            f"top {size} by ELO among {len(eligible)} models with >= {min_calls} answered votes"
        )
        result.changed = proposed != previous
        if not result.changed or request.dry_run:
            return result
        stamp = ratings.now_us()
        values = {"members": json.dumps(proposed), "reason": result.reason, "updated_us": stamp}
        if row is None:
            conn.execute(panels.insert().values(name=CHAMPION, **values))
        else:
            conn.execute(panels.update().where(panels.c.name == CHAMPION).values(**values))
        conn.execute(
            panel_changes.insert().values(
                panel=CHAMPION,
                previous=json.dumps(previous),
                current=json.dumps(proposed),
                reason=result.reason,
                changed_us=stamp,
            )
        )
        result.applied = True
        result.change.CopyFrom(
            ratings_pb2.PanelChange(
                panel=CHAMPION,
                previous=previous,
                current=proposed,
                reason=result.reason,
                changed_at=ratings.timestamp(stamp),
            )
        )
        return result

    return db.write(work) if not request.dry_run else db.read(work)


def get_panel(db: Database, name: str) -> models_pb2.Panel:
    name = name or CHAMPION
    row = db.read(lambda conn: _current(conn, name))
    if row is None:
        raise NotFound(
            f"panel {name!r} has not been chosen yet; run Evolve (dry_run=false) once models "
            "have enough calls"
        )
    return models_pb2.Panel(
        name=row.name,
        models=json.loads(row.members),
        source="evolution",
        updated_at=ratings.timestamp(row.updated_us),
        reason=row.reason,
    )


def list_changes(
    db: Database, request: learning_pb2.ListPanelChangesRequest
) -> learning_pb2.ListPanelChangesResponse:
    if request.limit < 0:
        raise InvalidInput("limit must not be negative (0 means 50)")
    query = (
        sa.select(panel_changes)
        .where(panel_changes.c.panel == (request.panel or CHAMPION))
        .order_by(panel_changes.c.id.desc())
        .limit(request.limit or 50)
    )
    rows = db.read(lambda conn: conn.execute(query).all())
    return learning_pb2.ListPanelChangesResponse(
        changes=[
            ratings_pb2.PanelChange(
                panel=r.panel,
                previous=json.loads(r.previous),
                current=json.loads(r.current),
                reason=r.reason,
                changed_at=ratings.timestamp(r.changed_us),
            )
            for r in rows
        ]
    )
