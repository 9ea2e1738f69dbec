"""Error correlation between profiled models: phi of their error indicators over the validation
items (and trials) both answered, for one pair or for every pair."""

from __future__ import annotations

import math

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning.cluster_sets import resolve_set
from services.learning.db import Database
from services.learning.errors import InvalidInput, NotFound
from services.learning.profiles import profiled_models
from services.learning.schema import profiles, validation_results

R = validation_results


def error_correlation(
    db: Database, request: learning_pb2.ErrorCorrelationRequest
) -> learning_pb2.ErrorCorrelationResponse:
    if not request.model_a or not request.model_b:
        raise InvalidInput("model_a and model_b are both required")

    def work(conn: Connection) -> learning_pb2.ErrorCorrelationResponse:
        cset = resolve_set(conn, request.cluster_set_id)
        for m in (request.model_a, request.model_b):
            known = conn.execute(
                sa.select(profiles.c.model).where(
                    profiles.c.model == m, profiles.c.cluster_set_id == cset.id
                )
            ).first()
            if known is None:
                raise NotFound(f"model {m!r} has no profile on cluster set {cset.id!r}")
        a, b = R.alias("a"), R.alias("b")
        pairs = conn.execute(
            sa.select(a.c.correct, b.c.correct)
            .join(
                b,
                sa.and_(
                    a.c.cluster_set_id == b.c.cluster_set_id,
                    a.c.item_id == b.c.item_id,
                    a.c.trial == b.c.trial,
                ),
            )
            .where(
                a.c.cluster_set_id == cset.id,
                a.c.model == request.model_a,
                b.c.model == request.model_b,
            )
        ).all()
        return phi((not x, not y) for x, y in pairs)

    return db.read(work)


def phi(errors) -> learning_pb2.ErrorCorrelationResponse:
    """The phi coefficient of (a wrong, b wrong) pairs, with the pairs and both-wrong counts;
    left unset (read as 0) where it is undefined: no pair, or either side without variance (a
    model all right or all wrong), which a reader must not take for "independent"."""
    errors = list(errors)
    n11 = sum(1 for x, y in errors if x and y)
    n10 = sum(1 for x, y in errors if x and not y)
    n01 = sum(1 for x, y in errors if y and not x)
    n00 = len(errors) - n11 - n10 - n01
    denominator = math.sqrt((n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00))
    reply = learning_pb2.ErrorCorrelationResponse(shared_items=len(errors), both_wrong=n11)
    if denominator:
        reply.correlation = (n11 * n00 - n10 * n01) / denominator
    return reply


def pair_correlations(
    models: list[str], wrong: dict[str, dict[tuple[str, int], bool]]
) -> list[routing_pb2.ModelPairCorrelation]:
    """Each pair of `models` in order: phi of their error indicators over the (item, trial)
    answers both gave; `wrong[model][(item, trial)]` is True for a wrong answer."""
    pairs = []
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            shared = wrong[a].keys() & wrong[b].keys()
            both = phi((wrong[a][k], wrong[b][k]) for k in shared)
            pair = routing_pb2.ModelPairCorrelation(
                model_a=a, model_b=b, shared_items=both.shared_items, both_wrong=both.both_wrong
            )
            if both.HasField("correlation"):
                pair.correlation = both.correlation
            pairs.append(pair)
    return pairs


def error_correlations(
    db: Database, request: routing_pb2.ErrorCorrelationsRequest
) -> routing_pb2.ErrorCorrelations:
    """Every pair of the given models (or of every model profiled on the set): how often they
    err on the same validation items (and trials)."""
    asked = list(request.models)
    if len(asked) == 1:
        raise InvalidInput("give at least two models to compare, or none for every profiled model")
    repeated = sorted({m for m in asked if asked.count(m) > 1})
    if repeated:
        raise InvalidInput(f"models lists {', '.join(map(repr, repeated))} more than once")

    def work(conn: Connection) -> routing_pb2.ErrorCorrelations:
        cset = resolve_set(conn, request.cluster_set_id)
        profiled = profiled_models(conn, cset.id)
        missing = [m for m in asked if m not in profiled]
        if missing:
            raise NotFound(
                f"no profile on cluster set {cset.id!r} for {', '.join(map(repr, missing))}; "
                "onboard the model first"
            )
        models = asked or sorted(profiled)
        answers: dict[str, dict[tuple[str, int], bool]] = {m: {} for m in models}
        rows = conn.execute(
            sa.select(R.c.model, R.c.item_id, R.c.trial, R.c.correct).where(
                R.c.cluster_set_id == cset.id, R.c.model.in_(models)
            )
        )
        for model, item_id, trial, correct in rows:
            answers[model][(item_id, trial)] = bool(correct)
        wrong = {m: {k: not v for k, v in answers[m].items()} for m in models}
        return routing_pb2.ErrorCorrelations(
            cluster_set_id=cset.id, pairs=pair_correlations(models, wrong)
        )

    return db.read(work)
