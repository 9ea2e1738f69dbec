"""Panels from the capability map: the members whose majority vote would have been right most
often on the validation items, simulated from each model's stored parsed answers (the seed's
capability-map purpose: models that err together add little to a vote). Every panel of the
asked size is scored when there are few enough (exhaustive), else members are added greedily;
ties go to the panel with the lower mean error correlation, then to alias order."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import routing_pb2
from services.learning.db import Database
from services.learning.errors import InvalidInput, Precondition
from services.learning.profiles import phi, profiled_models, resolve_set
from services.learning.schema import validation_results

R = validation_results
# Panels scored one by one at most; beyond, members are added greedily.
EXHAUSTIVE_LIMIT = 5000


def _majority_right(answers: list[str], right: set[str]) -> bool:
    """Whether the panel's majority answer (abstentions are not votes) is a right one."""
    votes = Counter(a for a in answers if a)
    if not votes:
        return False
    ranked = votes.most_common(2)
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return False  # a tie is not an answer
    return ranked[0][0] in right


def suggest(db: Database, request: routing_pb2.SuggestPanelRequest) -> routing_pb2.SuggestedPanel:
    size = request.size or 3
    if size not in (3, 5):
        raise InvalidInput(f"size must be 3 or 5 (an odd panel has a majority); got {size}")

    def work(conn: Connection) -> routing_pb2.SuggestedPanel:
        cset = resolve_set(conn, request.cluster_set_id)
        profiled = profiled_models(conn, cset.id)
        wanted = sorted(set(request.candidates) or profiled)
        missing = [m for m in wanted if m not in profiled]
        if missing:
            raise Precondition(
                f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no profile on "
                f"cluster set {cset.id!r}: profile them first"
            )
        if len(wanted) < size:
            raise Precondition(
                f"a panel of {size} needs {size} profiled candidates; there are {len(wanted)}"
            )
        # The first trial of each item: every model answered it under the same conditions.
        answers: dict[str, dict[str, tuple[str, bool]]] = {m: {} for m in wanted}
        for model, item, answer, correct in conn.execute(
            sa.select(R.c.model, R.c.item_id, R.c.answer, R.c.correct).where(
                R.c.cluster_set_id == cset.id, R.c.trial == 0, R.c.model.in_(wanted)
            )
        ):
            answers[model][item] = (answer, bool(correct))
        shared = sorted(set.intersection(*(set(a) for a in answers.values())))
        if not shared:
            raise Precondition(
                "the candidates share no validation item: profile them on the same set "
                "(ProfileModels)"
            )
        right = [{answers[m][item][0] for m in wanted if answers[m][item][1]} for item in shared]
        wrong = {m: np.array([not answers[m][i][1] for i in shared]) for m in wanted}
        single = {m: 1.0 - float(wrong[m].mean()) for m in wanted}

        def accuracy(panel: tuple[str, ...]) -> float:
            hits = sum(
                _majority_right([answers[m][item][0] for m in panel], right[i])
                for i, item in enumerate(shared)
            )
            return hits / len(shared)

        def correlation(panel: tuple[str, ...]) -> float:
            pairs = list(itertools.combinations(panel, 2))
            together = [phi(zip(wrong[a], wrong[b], strict=True)).correlation for a, b in pairs]
            return sum(together) / len(pairs)

        def key(panel: tuple[str, ...]):
            return (-accuracy(panel), correlation(panel), panel)

        if math.comb(len(wanted), size) <= EXHAUSTIVE_LIMIT:
            how = f"every panel of {size} of the {len(wanted)} candidates scored"
            best = min(itertools.combinations(wanted, size), key=key)
        else:
            how = f"members added greedily from {len(wanted)} candidates"
            chosen = (max(wanted, key=lambda m: (single[m], m)),)
            while len(chosen) < size:
                # Two members at a time keep the panel odd, so that a majority exists.
                step = 2 if len(chosen) + 2 <= size else 1
                options = [
                    tuple(sorted((*chosen, *extra)))
                    for extra in itertools.combinations(
                        [m for m in wanted if m not in chosen], step
                    )
                ]
                chosen = min(options, key=key)
            best = chosen
        members = sorted(best, key=lambda m: (-single[m], m))
        top = members[0]
        panel_accuracy = accuracy(best)
        return routing_pb2.SuggestedPanel(
            models=members,
            panel_accuracy=panel_accuracy,
            best_single_model=top,
            best_single_accuracy=single[top],
            mean_error_correlation=correlation(best),
            items=len(shared),
            reason=(
                f"{how} on {len(shared)} validation items: the majority of "
                f"{', '.join(members)} is right on {panel_accuracy:.1%}, against "
                f"{single[top]:.1%} for {top} alone"
            ),
        )

    return db.read(work)
