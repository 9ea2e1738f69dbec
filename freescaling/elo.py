"""`freescaling.elo`: the ELO standings as the seed project's `elo` module offered them, read
from the service (learning keeps them; this holds no state)."""

from __future__ import annotations

from freescaling.api import client
from freescaling.client import results as r


def rank(min_calls: int = 0) -> list[r.ModelRating]:
    """Models by rating, best first, among those with at least `min_calls` answered votes."""
    return client().elo_summary("rating", min_calls=min_calls)


def get_champion_panel(n: int = 3) -> list[str] | None:
    """The champion panel's first `n` members, or None while evolution has chosen none."""
    champion = next((p for p in client().panels() if p.source == "evolution"), None)
    return champion.models[:n] if champion else None


def summary() -> str:
    """The standings as a table a person reads, and the champion panel."""
    ratings = rank()
    if not ratings:
        return "No ELO data yet. Models are rated as scale() calls are recorded."
    lines = [
        "Model ELO Rankings:",
        f"{'Model':25s} {'ELO':>6s} {'Calls':>6s} {'Answered':>8s} {'Agree%':>7s}",
        "-" * 56,
    ]
    for m in ratings:
        lines.append(
            f"{m.model:25s} {m.rating:6.0f} {m.calls:6d} {m.answered:8d} "
            f"{m.agreement_rate * 100:6.1f}%"
        )
    lines.append(f"\nTotal calls tracked: {sum(m.calls for m in ratings)}")
    champion = get_champion_panel()
    lines.append(
        f"Champion panel: {champion}"
        if champion
        else "Champion panel: not chosen yet (default panels answer)"
    )
    return "\n".join(lines)
