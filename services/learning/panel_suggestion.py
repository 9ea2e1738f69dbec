"""Panels from the capability map: the members whose majority vote would have been right most
often on the validation items, simulated from each model's stored parsed answers (the seed's
capability-map purpose: models that err together add little to a vote). Every panel of the
asked size is scored when there are few enough (exhaustive), else members are added greedily,
each panel on the validation items all its members answered (at least MIN_SHARED_ITEMS); ties
go to the panel with the lower mean error correlation, then to alias order."""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import routing_pb2
from services.learning.cluster_sets import resolve_set
from services.learning.correlations import phi
from services.learning.db import Database
from services.learning.errors import InvalidInput, Precondition
from services.learning.profiles import profiled_models
from services.learning.schema import validation_results

R = validation_results
# Panels scored one by one at most; beyond, members are added greedily.
EXHAUSTIVE_LIMIT = 5000
# Validation items a panel's members must all have answered for it to be judged.
MIN_SHARED_ITEMS = 10


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
        # The answers known right on each item: any model's that was graded right.
        right: dict[str, set[str]] = {}
        for m in wanted:
            for item, (answer, correct) in answers[m].items():
                if correct:
                    right.setdefault(item, set()).add(answer)

        @functools.cache
        def shared(panel: tuple[str, ...]) -> list[str]:
            return sorted(set.intersection(*(set(answers[m]) for m in panel)))

        @functools.cache
        def accuracy(panel: tuple[str, ...]) -> float:
            items = shared(panel)
            hits = sum(
                _majority_right([answers[m][i][0] for m in panel], right.get(i, set()))
                for i in items
            )
            return hits / len(items) if items else 0.0

        def single(m: str, items: list[str]) -> float:
            return sum(answers[m][i][1] for i in items) / len(items) if items else 0.0

        @functools.cache
        def correlation(panel: tuple[str, ...]) -> float:
            items = shared(panel)
            pairs = list(itertools.combinations(panel, 2))
            together = [
                phi((not answers[a][i][1], not answers[b][i][1]) for i in items).correlation
                for a, b in pairs
            ]
            return sum(together) / len(pairs)

        def key(panel: tuple[str, ...]):
            return (-accuracy(panel), correlation(panel), panel)

        def eligible(panels):
            # A panel is judged on the items all its members answered, enough of them.
            return [p for p in panels if len(shared(p)) >= MIN_SHARED_ITEMS]

        if math.comb(len(wanted), size) <= EXHAUSTIVE_LIMIT:
            how = f"every panel of {size} of the {len(wanted)} candidates scored"
            panels = eligible(itertools.combinations(wanted, size))
        else:
            how = f"members added greedily from {len(wanted)} candidates"
            panels, chosen = [], ()
            firsts = [m for m in wanted if len(answers[m]) >= MIN_SHARED_ITEMS]
            if firsts:
                chosen = (max(firsts, key=lambda m: (single(m, sorted(answers[m])), m)),)
            while chosen and len(chosen) < size:
                # Two members at a time keep the panel odd, so that a majority exists.
                step = 2 if len(chosen) + 2 <= size else 1
                options = eligible(
                    tuple(sorted((*chosen, *extra)))
                    for extra in itertools.combinations(
                        [m for m in wanted if m not in chosen], step
                    )
                )
                chosen = min(options, key=key) if options else ()
            panels = [chosen] if chosen else []
        if not panels:
            raise Precondition(
                f"no panel of {size} of the candidates shares {MIN_SHARED_ITEMS} validation "
                "items: profile them on the same set (ProfileModels)"
            )
        best = min(panels, key=key)
        items = shared(best)
        members = sorted(best, key=lambda m: (-single(m, items), m))
        top = members[0]
        panel_accuracy = accuracy(best)
        return routing_pb2.SuggestedPanel(
            models=members,
            panel_accuracy=panel_accuracy,
            best_single_model=top,
            best_single_accuracy=single(top, items),
            mean_error_correlation=correlation(best),
            items=len(items),
            reason=(
                f"{how} on the validation items each panel's members all answered: the "
                f"majority of {', '.join(members)} is right on {panel_accuracy:.1%} of its "
                f"{len(items)}, against {single(top, items):.1%} for {top} alone"
            ),
        )

    return db.read(work)
