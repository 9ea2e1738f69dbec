"""deploy/components/grafana: the dashboard's every query names a metric the services export
(as registered in prometheus_client by the modules that define them, with the suffixes the
exposition adds), it covers what an operator looks at first, and the component renders with
the base into a valid ConfigMap that Grafana's sidecar picks up."""

from __future__ import annotations

import importlib
import json
import os
import re

import kubernetes_validate
import yaml

from tests.deploy import manifests
from tests.deploy.manifests import DEPLOY

COMPONENT = DEPLOY / "components" / "grafana"
DASHBOARD = COMPONENT / "freescaling-dashboard.json"
# Every module that defines a service metric (the registry holds what has been imported).
METRIC_MODULES = (
    "services.common.metrics",
    "services.gateway.outbox",
    "services.gateway.answer_cache",
    "services.ensemble.provider",
    "services.ensemble.deadmodels",
    "services.classifier.batcher",
    "services.learning.servicer",
)
NAME = re.compile(r"\bfreescaling_[a-z0-9_]+\b")


def exported() -> set[str]:
    """Every series name the services expose: counters as `_total`, histograms as `_bucket`,
    `_sum` and `_count`, gauges as they are."""
    from prometheus_client import REGISTRY

    for module in METRIC_MODULES:
        importlib.import_module(module)
    names = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("freescaling_"):
            continue
        kinds = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_sum", "_count"),
            "gauge": ("",),
        }
        names.update(family.name + suffix for suffix in kinds.get(family.type, ("",)))
    return names


def queries() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    found = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"]))
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            found.append((f"variable {variable['name']}", variable["query"]["query"]))
    return found


def test_every_query_names_an_exported_metric():
    names = exported()
    assert len(names) > 15, names
    problems = []
    for title, expr in queries():
        used = NAME.findall(expr)
        if not used:
            problems.append(f"{title}: {expr!r} names no freescaling_ metric")
        problems += [f"{title}: {m} is not exported" for m in used if m not in names]
    assert problems == []


def test_the_dashboard_covers_what_the_issue_asks_for():
    used = {m for _, expr in queries() for m in NAME.findall(expr)}
    wanted = {
        "freescaling_rpc_requests_total",  # request rates
        "freescaling_rpc_errors_total",  # errors
        "freescaling_rpc_duration_seconds_bucket",  # latency
        "freescaling_model_calls_total",  # model calls by outcome
        "freescaling_dead_models",
        "freescaling_outbox_depth",
        "freescaling_classifier_batch_size_bucket",
    }
    assert wanted <= used, wanted - used
    board = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    assert all(p["datasource"]["uid"] == "${datasource}" for p in board["panels"] if "targets" in p)


def test_the_component_renders_with_the_base_into_a_valid_configmap(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(DEPLOY / "base", tmp_path)],
                "components": [os.path.relpath(COMPONENT, tmp_path)],
            }
        )
    )
    docs = manifests.render(str(tmp_path))
    (config,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "freescaling-grafana-dashboard"
    ]
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config["data"]["freescaling-dashboard.json"]) == json.loads(
        DASHBOARD.read_text()
    )
    for version in manifests.K8S_VERSIONS:
        kubernetes_validate.validate(config, version, strict=True)
