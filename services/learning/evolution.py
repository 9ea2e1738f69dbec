"""Panel evolution: the top models by ELO among those with enough answered votes become the
champion panel, or (source PROFILES) the panel SuggestPanel chooses from the validation results;
a dry run only reports; every applied change is recorded with its reason and time."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import models_pb2, ratings_pb2, routing_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning import panel_suggestion, ratings
from services.learning.db import Database
from services.learning.errors import InvalidInput, NotFound, Precondition
from services.learning.schema import panel_changes, panels, profiles

CHAMPION = "champion"


def _current(conn: Connection, name: str, lock: bool = False):
    query = sa.select(panels).where(panels.c.name == name)
    if lock and conn.dialect.name == "postgresql":
        # Serializes evolvers of one panel even while its row does not exist yet.
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("panel:" + name))))
    return conn.execute(query).first()


def _from_profiles(
    db: Database, request: ratings_pb2.EvolveRequest, size: int
) -> routing_pb2.SuggestedPanel:
    """SuggestPanel's choice, made before the write transaction: validation results change only
    by profiling, and a panel chosen a moment earlier is as good a choice."""
    if size not in (3, 5):
        raise InvalidInput(
            f"a panel from profiles has 3 or 5 members (an odd panel has a majority); "
            f"panel_size (or FREESCALING_LEARNING_PANEL_SIZE) is {size}"
        )
    if db.read(lambda conn: conn.execute(sa.select(profiles.c.model).limit(1)).first()) is None:
        raise Precondition(
            "no model is profiled yet: profile models first (ProfileModels, `freescaling "
            "profile`), then evolve from profiles"
        )
    return panel_suggestion.suggest(
        db, routing_pb2.SuggestPanelRequest(size=size, candidates=request.candidates)
    )


def _by_elo(request, everyone, min_calls: int, size: int, result) -> None:
    """The top `size` by rating among the models with at least `min_calls` answered votes."""
    wanted = set(request.candidates)
    pool = [r for r in everyone if r.model in wanted] if wanted else everyone
    # Answered votes only: calls that failed, were cancelled or abstained prove nothing.
    eligible = [r for r in pool if r.answered >= min_calls]
    eligible.sort(key=lambda r: r.model)
    eligible.sort(key=lambda r: r.rating, reverse=True)
    result.candidates.extend(eligible)
    among = f"{len(pool)} given" if wanted else f"{len(everyone)}"
    if len(eligible) < size:
        result.proposed.extend(result.previous)
        result.reason = (
            f"only {len(eligible)} of {among} models have >= {min_calls} answered votes; "
            f"a panel of {size} needs {size}: the champion panel stays as it is"
        )
        return
    result.proposed.extend(r.model for r in eligible[:size])
    result.reason = (
        f"top {size} by ELO among {len(eligible)} models with >= {min_calls} answered votes"
    )
    if wanted:
        result.reason += f" (of the {len(pool)} candidates given)"


def _figures(suggestion: routing_pb2.SuggestedPanel) -> str:
    return (
        f"from the validation results: {suggestion.reason}; mean error correlation "
        f"{suggestion.mean_error_correlation:+.2f}"
    )


def evolve(
    db: Database, request: ratings_pb2.EvolveRequest, default_min_calls: int, default_size: int
) -> ratings_pb2.EvolveResult:
    if request.min_calls < 0 or request.panel_size < 0:
        raise InvalidInput("min_calls and panel_size must not be negative (0 uses the default)")
    if request.source not in ratings_pb2.EvolveSource.values():
        raise InvalidInput(f"unknown source {request.source}; use ELO or PROFILES")
    min_calls = request.min_calls or default_min_calls
    size = request.panel_size or default_size
    profiled = request.source == ratings_pb2.EVOLVE_SOURCE_PROFILES
    suggestion = _from_profiles(db, request, size) if profiled else None

    def work(conn: Connection) -> ratings_pb2.EvolveResult:
        row = _current(conn, CHAMPION, lock=not request.dry_run)
        previous = json.loads(row.members) if row else []
        result = ratings_pb2.EvolveResult(previous=previous)
        if suggestion is None:
            result.source = ratings_pb2.EVOLVE_SOURCE_ELO
            _by_elo(request, ratings.all_ratings(conn), min_calls, size, result)
        else:
            result.source = ratings_pb2.EVOLVE_SOURCE_PROFILES
            result.suggestion.CopyFrom(suggestion)
            result.proposed.extend(suggestion.models)
            result.reason = _figures(suggestion)
        proposed = list(result.proposed)
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
            f"panel {name!r} has not been chosen yet; run `freescaling evolve` once models "
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
