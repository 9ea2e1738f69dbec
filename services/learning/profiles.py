"""Capability profiles (UniRoute): cluster sets, graded validation answers per model and
cluster, the smoothed error rate psi = (errors + 1) / (n + 2) (0.5 for an empty cluster),
routing by psi[cluster] + lambda * cost, per-task-type accuracy and error correlation."""

from __future__ import annotations

import json
import math

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning import ratings
from services.learning.db import Database
from services.learning.errors import InvalidInput, NotFound, Precondition
from services.learning.routers import Routers
from services.learning.schema import cluster_sets, profiles, validation_items, validation_results

R = validation_results


def psi(errors: int, n: int) -> float:
    return (errors + 1) / (n + 2)


def record_cluster_set(db: Database, cs: routing_pb2.ClusterSet) -> routing_pb2.ClusterSet:
    if not cs.id:
        raise InvalidInput("cluster set id is empty; use the digest of its centroids")
    if cs.k < 1:
        raise InvalidInput(f"cluster set k is {cs.k}; it must be 1 or more")
    if cs.sizes and len(cs.sizes) != cs.k:
        raise InvalidInput(f"cluster set has {len(cs.sizes)} sizes for k={cs.k} clusters")
    fitted = cs.fitted_at.ToMicroseconds() if cs.HasField("fitted_at") else ratings.now_us()

    def work(conn: Connection) -> routing_pb2.ClusterSet:
        existing = conn.execute(sa.select(cluster_sets).where(cluster_sets.c.id == cs.id)).first()
        if existing is None:
            conn.execute(
                cluster_sets.insert().values(
                    id=cs.id,
                    k=cs.k,
                    dim=cs.dim,
                    model_fingerprint=cs.model_fingerprint,
                    seed=cs.seed,
                    sizes=json.dumps(list(cs.sizes)),
                    fitted_us=fitted,
                    recorded_us=ratings.now_us(),
                )
            )
            return _cluster_set(conn, cs.id)
        if existing.k != cs.k:
            raise InvalidInput(
                f"cluster set {cs.id!r} is already recorded with k={existing.k}, not {cs.k}"
            )
        return _cluster_set(conn, cs.id)

    return db.write(work)


def _cluster_set(conn: Connection, set_id: str) -> routing_pb2.ClusterSet:
    row = conn.execute(sa.select(cluster_sets).where(cluster_sets.c.id == set_id)).first()
    return routing_pb2.ClusterSet(
        id=row.id,
        k=row.k,
        dim=row.dim,
        model_fingerprint=row.model_fingerprint,
        seed=row.seed,
        sizes=json.loads(row.sizes),
        fitted_at=ratings.timestamp(row.fitted_us),
    )


def resolve_set(conn: Connection, set_id: str):
    if set_id:
        row = conn.execute(sa.select(cluster_sets).where(cluster_sets.c.id == set_id)).first()
        if row is None:
            raise Precondition(f"cluster set {set_id!r} is not recorded; RecordClusterSet first")
        return row
    row = conn.execute(
        sa.select(cluster_sets)
        .order_by(cluster_sets.c.recorded_us.desc(), cluster_sets.c.id)
        .limit(1)
    ).first()
    if row is None:
        raise Precondition("no cluster set is recorded yet; RecordClusterSet first")
    return row


def profiled_models(conn: Connection, set_id: str) -> set[str]:
    """The models with a profile on the cluster set."""
    return set(
        conn.execute(
            sa.select(profiles.c.model).where(profiles.c.cluster_set_id == set_id)
        ).scalars()
    )


def _profile(conn: Connection, model: str, cset) -> routing_pb2.ModelProfile:
    head = conn.execute(
        sa.select(profiles).where(profiles.c.model == model, profiles.c.cluster_set_id == cset.id)
    ).first()
    if head is None:
        raise NotFound(f"model {model!r} has no profile on cluster set {cset.id!r}")
    where = (R.c.model == model, R.c.cluster_set_id == cset.id)
    wrong = sa.func.sum(sa.case((R.c.correct, 0), else_=1))
    by_cluster = {
        c: (n, e)
        for c, n, e in conn.execute(
            sa.select(R.c.cluster_id, sa.func.count(), wrong).where(*where).group_by(R.c.cluster_id)
        )
    }
    by_task = conn.execute(
        sa.select(R.c.task_type, sa.func.count(), wrong)
        .where(*where)
        .group_by(R.c.task_type)
        .order_by(R.c.task_type)
    ).all()
    total = sum(n for n, _ in by_cluster.values())
    errors = sum(e for _, e in by_cluster.values())
    clusters = []
    for c in range(cset.k):
        n, e = by_cluster.get(c, (0, 0))
        clusters.append(routing_pb2.ClusterProfile(cluster_id=c, n=n, errors=e, psi=psi(e, n)))
    return routing_pb2.ModelProfile(
        model=model,
        cluster_set_id=cset.id,
        clusters=clusters,
        task_types=[
            routing_pb2.TaskTypeAccuracy(task_type=t, n=n, correct=n - e, accuracy=(n - e) / n)
            for t, n, e in by_task
            if n
        ],
        n=total,
        accuracy=(total - errors) / total if total else 0.0,
        updated_at=ratings.timestamp(head.updated_us),
    )


def record_validation(
    db: Database, request: learning_pb2.RecordValidationRequest
) -> routing_pb2.ModelProfile:
    if not request.model:
        raise InvalidInput("model is empty; name the model the answers came from")
    if not request.cluster_set_id:
        raise InvalidInput("cluster_set_id is empty; name the centroid set the clusters refer to")
    if not math.isfinite(request.routing_cost) or request.routing_cost < 0:
        raise InvalidInput(f"routing_cost is {request.routing_cost}; it must not be negative")
    seen = set()
    for i, item in enumerate(request.items):
        if not item.item_id:
            raise InvalidInput(f"items[{i}].item_id is empty")
        if item.trial < 0:
            raise InvalidInput(f"items[{i}].trial is {item.trial}; it must not be negative")
        if (item.item_id, item.trial) in seen:
            raise InvalidInput(f"items[{i}]: item {item.item_id!r} trial {item.trial} twice")
        seen.add((item.item_id, item.trial))
    embedded = _check_embeddings(request.embeddings)

    def work(conn: Connection) -> routing_pb2.ModelProfile:
        cset = resolve_set(conn, request.cluster_set_id)
        for i, item in enumerate(request.items):
            if not 0 <= item.cluster_id < cset.k:
                raise InvalidInput(
                    f"items[{i}].cluster_id is {item.cluster_id}; cluster set "
                    f"{cset.id!r} has clusters 0..{cset.k - 1}"
                )
        if embedded and cset.dim and len(embedded[0][1]) != cset.dim:
            raise InvalidInput(
                f"embeddings have {len(embedded[0][1])} dimensions; cluster set {cset.id!r} "
                f"was fitted on {cset.dim}"
            )
        _store_embeddings(conn, cset.id, embedded)
        # A profiled model is rankable and routable at once: it gets its rating (1500).
        ratings.register(conn, [request.model])
        stamp = ratings.now_us()
        key = (profiles.c.model == request.model, profiles.c.cluster_set_id == cset.id)
        if conn.execute(sa.select(profiles.c.model).where(*key)).first() is None:
            conn.execute(
                profiles.insert().values(
                    model=request.model,
                    cluster_set_id=cset.id,
                    routing_cost=request.routing_cost,
                    updated_us=stamp,
                )
            )
        else:
            conn.execute(
                profiles.update()
                .where(*key)
                .values(routing_cost=request.routing_cost, updated_us=stamp)
            )
        mine = (R.c.model == request.model, R.c.cluster_set_id == cset.id)
        if request.replace:
            conn.execute(R.delete().where(*mine))
        elif request.items:
            # A re-graded (item, trial) replaces its earlier grade; in chunks, because SQLite
            # bounds the parameters of one statement.
            keys = [(i.item_id, i.trial) for i in request.items]
            for start in range(0, len(keys), 500):
                conn.execute(
                    R.delete().where(
                        *mine, sa.tuple_(R.c.item_id, R.c.trial).in_(keys[start : start + 500])
                    )
                )
        if request.items:
            conn.execute(
                R.insert(),
                [
                    {
                        "model": request.model,
                        "cluster_set_id": cset.id,
                        "item_id": i.item_id,
                        "trial": i.trial,
                        "cluster_id": i.cluster_id,
                        "task_type": i.task_type,
                        "correct": i.correct,
                        "answer": i.answer,
                    }
                    for i in request.items
                ],
            )
        return _profile(conn, request.model, cset)

    return db.write(work)


def _check_embeddings(embeddings) -> list[tuple[str, list[float]]]:
    out, dims, seen = [], set(), set()
    for i, e in enumerate(embeddings):
        if not e.item_id:
            raise InvalidInput(f"embeddings[{i}].item_id is empty")
        if e.item_id in seen:
            raise InvalidInput(f"embeddings[{i}]: item {e.item_id!r} twice")
        if not e.embedding:
            raise InvalidInput(f"embeddings[{i}] ({e.item_id!r}) is empty")
        if not all(math.isfinite(x) for x in e.embedding):
            raise InvalidInput(f"embeddings[{i}] ({e.item_id!r}) holds a non-finite value")
        seen.add(e.item_id)
        dims.add(len(e.embedding))
        out.append((e.item_id, list(e.embedding)))
    if len(dims) > 1:
        raise InvalidInput(f"embeddings have different dimensions: {sorted(dims)}")
    return out


def _store_embeddings(conn: Connection, set_id: str, embedded) -> None:
    """One embedding per item and set, shared by every model profiled on it (newest wins)."""
    if not embedded:
        return
    ids = [item for item, _ in embedded]
    for start in range(0, len(ids), 500):
        conn.execute(
            validation_items.delete().where(
                validation_items.c.cluster_set_id == set_id,
                validation_items.c.item_id.in_(ids[start : start + 500]),
            )
        )
    conn.execute(
        validation_items.insert(),
        [
            {
                "cluster_set_id": set_id,
                "item_id": item,
                "dim": len(vector),
                "embedding": np.asarray(vector, dtype=np.float32).tobytes(),
            }
            for item, vector in embedded
        ],
    )


def get_profile(db: Database, model: str, set_id: str = "") -> routing_pb2.ModelProfile:
    if not model:
        raise InvalidInput("model is empty")

    def work(conn: Connection) -> routing_pb2.ModelProfile:
        if not set_id:
            latest = conn.execute(
                sa.select(profiles.c.cluster_set_id)
                .join(cluster_sets, cluster_sets.c.id == profiles.c.cluster_set_id)
                .where(profiles.c.model == model)
                .order_by(cluster_sets.c.recorded_us.desc())
                .limit(1)
            ).scalar()
            if latest is None:
                raise NotFound(f"model {model!r} has no profile; RecordValidation first")
            return _profile(conn, model, resolve_set(conn, latest))
        return _profile(conn, model, resolve_set(conn, set_id))

    return db.read(work)


def list_profiles(db: Database, set_id: str) -> learning_pb2.ListProfilesResponse:
    def work(conn: Connection) -> learning_pb2.ListProfilesResponse:
        cset = resolve_set(conn, set_id)
        models = conn.execute(
            sa.select(profiles.c.model)
            .where(profiles.c.cluster_set_id == cset.id)
            .order_by(profiles.c.model)
        ).scalars()
        return learning_pb2.ListProfilesResponse(
            profiles=[_profile(conn, m, cset) for m in list(models)]
        )

    return db.read(work)


def route(
    db: Database, routers: Routers, request: learning_pb2.RouteRequest
) -> learning_pb2.RouteResponse:
    """Candidates ranked by psi + lambda * cost, psi from the set's profile estimator (chosen by
    cross-validation: routers.py). Candidates without a profile on the set are left out and
    named in `unprofiled`, never ranked as free or average."""
    # `lambda` is a Python keyword, hence getattr.
    lam = getattr(request, "lambda")
    if not math.isfinite(lam) or lam < 0:
        raise InvalidInput(f"lambda is {lam}; it must not be negative")
    for model, cost in request.costs.items():
        if not math.isfinite(cost) or cost < 0:
            raise InvalidInput(f"costs[{model!r}] is {cost}; it must not be negative")
    if not all(math.isfinite(x) for x in request.embedding):
        raise InvalidInput("embedding holds a value that is not a finite number")

    def work(conn: Connection) -> learning_pb2.RouteResponse:
        cset = resolve_set(conn, request.cluster_set_id)
        if not 0 <= request.cluster_id < cset.k:
            raise InvalidInput(
                f"cluster_id is {request.cluster_id}; cluster set {cset.id!r} has clusters "
                f"0..{cset.k - 1}"
            )
        router = routers.get(conn, cset.id)
        if not router.costs:
            raise Precondition(f"no model is profiled on cluster set {cset.id!r}")
        wanted = sorted(set(request.candidates)) if request.candidates else sorted(router.costs)
        spec, estimates = router.estimate(
            request.cluster_id, request.task_type, list(request.embedding)
        )
        ranked = []
        for m in wanted:
            if m not in router.costs:
                continue
            # A profile with no graded answer yet says nothing: 0.5, as an empty cluster.
            p, n = estimates.get(m, (0.5, 0))
            cost = request.costs.get(m, router.costs[m])
            ranked.append(
                routing_pb2.RouteCandidate(model=m, psi=p, cost=cost, score=p + lam * cost, n=n)
            )
        ranked.sort(key=lambda c: (c.score, c.psi, c.model))
        for rank, c in enumerate(ranked, 1):
            c.rank = rank
        return learning_pb2.RouteResponse(
            candidates=ranked,
            cluster_set_id=cset.id,
            estimator=router.describe(spec),
            unprofiled=[m for m in wanted if m not in router.costs],
        )

    return db.read(work)


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
    """The phi coefficient of (a wrong, b wrong) pairs, with the pairs and both-wrong counts."""
    errors = list(errors)
    n11 = sum(1 for x, y in errors if x and y)
    n10 = sum(1 for x, y in errors if x and not y)
    n01 = sum(1 for x, y in errors if y and not x)
    n00 = len(errors) - n11 - n10 - n01
    denominator = math.sqrt((n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00))
    phi = (n11 * n00 - n10 * n01) / denominator if denominator else 0.0
    return learning_pb2.ErrorCorrelationResponse(
        correlation=phi, shared_items=len(errors), both_wrong=n11
    )


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
            pairs.append(
                routing_pb2.ModelPairCorrelation(
                    model_a=a,
                    model_b=b,
                    correlation=both.correlation,
                    shared_items=both.shared_items,
                    both_wrong=both.both_wrong,
                )
            )
    return pairs


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
            profile = _profile(conn, model, cset)
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
