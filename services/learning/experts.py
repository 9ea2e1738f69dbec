"""Who answers a k=auto question: the single expert, and the models added when the cascade
escalates. One rule over three kinds of evidence about model m on the prompt, most specific
first:

- profile:   for a profiled model, 1 - psi(m, prompt), psi from the set's cross-validated
             estimator (routers.py). That estimator already weighs the prompt's cluster, its
             task type (the capability map's per-task-type accuracy) or its nearest validation
             items against m's overall record, each where held-out validation says it predicts
             better, so the profile supersedes the evidence below;
- consensus: for a model without a profile, its agreement with the majority in recorded calls
             (the ELO summary's agreement rate), counted from `min_calls` such votes on, as
             (agreed + 1) / (votes + 2);
- none:      0.5.

The task type's own validation accuracy is reported beside (`task_accuracy`), never counted
twice. The ELO rating itself is relative (who beat whom), not an accuracy: it only breaks ties,
then the alias does. The expert maximises p(m) - lambda * cost(m). An escalation adds, one at a
time, the model maximising p(m) - CORRELATION_WEIGHT * mean phi(m, asked) - lambda * cost(m):
accurate models that err apart from those already asked (phi over the validation items both
answered; 0 when they share none)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.learning.v1 import learning_pb2
from services.learning.cluster_sets import resolve_set
from services.learning.correlations import phi
from services.learning.db import Database
from services.learning.errors import InvalidInput
from services.learning.routers import Routers
from services.learning.schema import ratings, validation_results

R = validation_results
CORRELATION_WEIGHT = 0.2


@dataclass
class _Evidence:
    model: str
    profile: tuple[float, int] | None = None
    task: tuple[float, int] | None = None
    consensus: tuple[float, int] | None = None
    rating: float = 1500.0
    cost: float = 0.0

    def accuracy(self) -> float:
        if self.profile is not None:
            return self.profile[0]
        if self.consensus is not None:
            agreed, votes = self.consensus[0] * self.consensus[1], self.consensus[1]
            return (agreed + 1) / (votes + 2)
        return 0.5

    def words(self) -> str:
        parts = []
        if self.profile is not None:
            parts.append(f"profile {self.profile[0]:.2f} over {self.profile[1]}")
        elif self.consensus is not None:
            parts.append(f"consensus {self.consensus[0]:.2f} over {self.consensus[1]}")
        if self.task is not None:
            parts.append(f"(task type {self.task[0]:.2f} over {self.task[1]})")
        return " ".join(parts) or "no evidence (0.5)"


def choose(
    db: Database, routers: Routers, request: learning_pb2.ExpertsRequest
) -> learning_pb2.ExpertsResponse:
    lam = getattr(request, "lambda")
    if not np.isfinite(lam) or lam < 0:
        raise InvalidInput(f"lambda is {lam}; it must not be negative")
    if not request.candidates:
        raise InvalidInput("candidates is empty: name the live models to choose from")
    if request.count < 0:
        raise InvalidInput(f"count is {request.count}; it must not be negative (0 means 1)")
    count = request.count or 1

    def work(conn: Connection) -> learning_pb2.ExpertsResponse:
        asked = list(dict.fromkeys(request.asked))
        names = sorted(set(request.candidates) - set(asked))
        evidence = {m: _Evidence(m, cost=request.costs.get(m, 0.0)) for m in names}
        errors: dict[str, dict[tuple[str, int], bool]] = {}
        set_id = ""
        has_set = conn.execute(sa.text("SELECT 1 FROM cluster_sets LIMIT 1")).first()
        if has_set is not None:
            cset = resolve_set(conn, request.cluster_set_id)
            set_id = cset.id
            router = routers.get(conn, cset.id)
            if router.costs:
                # No cluster (or one outside the set): the model's overall record.
                cluster = request.cluster_id if request.HasField("cluster_id") else None
                _, estimates = router.estimate(
                    cluster if cluster is not None and 0 <= cluster < cset.k else None,
                    request.task_type,
                    list(request.embedding),
                )
                for m, e in evidence.items():
                    if m in router.costs:
                        psi, n = estimates.get(m, (0.5, 0))
                        e.profile = (1.0 - psi, n)
                        if m not in request.costs:
                            e.cost = router.costs[m]
            rows = conn.execute(
                sa.select(R.c.model, R.c.item_id, R.c.trial, R.c.task_type, R.c.correct).where(
                    R.c.cluster_set_id == set_id, R.c.model.in_([*names, *asked])
                )
            ).all()
            by_task: dict[str, list[int]] = {}
            for model, item, trial, task, correct in rows:
                errors.setdefault(model, {})[(item, trial)] = not correct
                if task == request.task_type and model in evidence:
                    tally = by_task.setdefault(model, [0, 0])
                    tally[0] += bool(correct)
                    tally[1] += 1
            for m, (right, n) in by_task.items():
                if request.task_type:
                    evidence[m].task = (right / n, n)
        for model, rating, parsed, agreed in conn.execute(
            sa.select(
                ratings.c.model, ratings.c.rating_milli, ratings.c.parsed_votes,
                ratings.c.agreed_votes,
            ).where(ratings.c.model.in_(names))
        ):  # fmt: skip
            e = evidence[model]
            e.rating = rating / 1000
            if parsed and parsed >= request.min_calls:
                e.consensus = (agreed / parsed, int(parsed))

        def correlation(m: str, others: list[str]) -> float:
            mine = errors.get(m)
            if not mine or not others:
                return 0.0
            values = []
            for other in others:
                theirs = errors.get(other, {})
                shared = sorted(mine.keys() & theirs.keys())
                if shared:
                    values.append(phi((mine[k], theirs[k]) for k in shared).correlation)
            return sum(values) / len(values) if values else 0.0

        def expert(m: str, others: list[str]) -> learning_pb2.Expert:
            e = evidence[m]
            p = e.accuracy()
            corr = correlation(m, others)
            score = p - CORRELATION_WEIGHT * corr - lam * e.cost if others else p - lam * e.cost
            return learning_pb2.Expert(
                model=m,
                accuracy=p,
                profile_accuracy=e.profile[0] if e.profile else 0.0,
                profile_n=e.profile[1] if e.profile else 0,
                task_accuracy=e.task[0] if e.task else 0.0,
                task_n=e.task[1] if e.task else 0,
                agreement=e.consensus[0] if e.consensus else 0.0,
                agreement_n=e.consensus[1] if e.consensus else 0,
                rating=e.rating,
                cost=e.cost,
                correlation=corr,
                score=score,
                evidence=e.words()
                + (
                    f"; mean error correlation {corr:+.2f} with {', '.join(others)}"
                    if others
                    else ""
                ),
            )

        def best(pool: list[str], others: list[str]) -> learning_pb2.Expert:
            ranked = [expert(m, others) for m in pool]
            return min(ranked, key=lambda x: (-x.score, -x.rating, x.model))

        chosen: list[learning_pb2.Expert] = []
        left = list(names)
        while left and len(chosen) < count:
            pick = best(left, asked + [c.model for c in chosen])
            chosen.append(pick)
            left.remove(pick.model)
        ranked = sorted(
            (expert(m, asked) for m in names), key=lambda x: (-x.score, -x.rating, x.model)
        )
        return learning_pb2.ExpertsResponse(chosen=chosen, ranked=ranked, cluster_set_id=set_id)

    return db.read(work)
