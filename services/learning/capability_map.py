"""The capability map of a cluster set: every profiled model's accuracy by task type and cluster,
its consistency across trials, the error correlation of every pair and the routing estimator."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import routing_pb2
from services.learning.cluster_sets import resolve_set
from services.learning.correlations import pair_correlations
from services.learning.db import Database
from services.learning.profiles import model_profile
from services.learning.routers import Routers
from services.learning.schema import profiles, validation_results

R = validation_results


def capability_map(
    db: Database, routers: Routers, request: routing_pb2.GetCapabilityMapRequest
) -> routing_pb2.CapabilityMap:
    """Every profiled model's accuracy by task type and cluster, its consistency across trials,
    the error correlation of every pair, and the estimator routing uses."""

    def work(conn: Connection) -> routing_pb2.CapabilityMap:
        cset = resolve_set(conn, request.cluster_set_id)
        costs = dict(
            conn.execute(
                sa.select(profiles.c.model, profiles.c.routing_cost)
                .where(profiles.c.cluster_set_id == cset.id)
                .order_by(profiles.c.model)
            ).all()
        )
        answers: dict[str, dict[tuple[str, int], tuple[bool, str]]] = {m: {} for m in costs}
        for model, item, trial, correct, answer in conn.execute(
            sa.select(R.c.model, R.c.item_id, R.c.trial, R.c.correct, R.c.answer).where(
                R.c.cluster_set_id == cset.id
            )
        ):
            answers.setdefault(model, {})[(item, trial)] = (bool(correct), answer)
        result = routing_pb2.CapabilityMap(cluster_set_id=cset.id)
        for model in costs:
            profile = model_profile(conn, model, cset)
            by_item: dict[str, set[str]] = {}
            for (item, _), (_, answer) in answers[model].items():
                by_item.setdefault(item, set()).add(answer)
            trials = {}
            for item, trial in answers[model]:
                trials[item] = max(trials.get(item, 0), trial + 1)
            repeated = [item for item, t in trials.items() if t >= 2]
            agreeing = sum(1 for item in repeated if len(by_item[item]) == 1)
            result.models.append(
                routing_pb2.ModelCapability(
                    model=model,
                    items=len(by_item),
                    trials=max(trials.values(), default=0),
                    accuracy=profile.accuracy,
                    task_types=profile.task_types,
                    clusters=profile.clusters,
                    consistency=agreeing / len(repeated) if repeated else 0.0,
                    consistency_items=len(repeated),
                    routing_cost=costs[model],
                )
            )
        wrong = {m: {k: not v[0] for k, v in answers[m].items()} for m in costs}
        result.correlations.extend(pair_correlations(list(costs), wrong))
        if costs:
            router = routers.get(conn, cset.id)
            result.estimator.CopyFrom(router.describe(router.selection.chosen))
            for scored in sorted(router.selection.scores, key=lambda s: s.log_loss):
                result.compared.append(router.describe(scored.spec))
        return result

    return db.read(work)
