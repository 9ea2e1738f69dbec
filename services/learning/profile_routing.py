"""Route: profiled candidates for one prompt ranked by psi + lambda * cost, psi from the cluster
set's cross-validated estimator (the fitted router cache is routers.py)."""

from __future__ import annotations

import math

from sqlalchemy.engine import Connection

from freescaling.common.v1 import routing_pb2
from freescaling.learning.v1 import learning_pb2
from services.learning.cluster_sets import resolve_set
from services.learning.db import Database
from services.learning.errors import InvalidInput, Precondition
from services.learning.routers import Routers


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
