"""Reading a service's Prometheus metrics the way a scraper does: over HTTP."""

from __future__ import annotations

import urllib.request

from tests.support.processes import ServiceProcess, wait_for


def metrics_port(service: ServiceProcess) -> int:
    """The /metrics port the service logged when it started serving."""

    def logged():
        return next((r["metrics_port"] for r in service.log_records() if r.get("metrics_port")), 0)

    return wait_for(logged, what=f"{service.name}'s metrics port in its log")


def scrape(service: ServiceProcess) -> dict[str, float]:
    """Every sample of the service's /metrics, keyed by name with labels as printed."""
    url = f"http://127.0.0.1:{metrics_port(service)}/metrics"
    with urllib.request.urlopen(url, timeout=5) as reply:
        text = reply.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(
        value
        for key, value in samples.items()
        if (key == name or key.startswith(name + "{")) and all(w in key for w in wanted)
    )
