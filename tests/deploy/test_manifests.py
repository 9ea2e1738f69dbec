"""The Kubernetes base in deploy/base agrees with the code it deploys.

Probe names, ports and environment variables are checked against what the services actually
expose (generated descriptors, the health bootstrap, the settings classes), so renaming a gRPC
service, moving a port or dropping a setting fails here rather than in a cluster.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from freescaling.classifier.v1 import classifier_pb2
from freescaling.ensemble.v1 import ensemble_pb2
from freescaling.gateway.v1 import gateway_pb2
from freescaling.learning.v1 import learning_pb2
from services.classifier.config import ClassifierSettings
from services.common.health import LIVENESS
from services.common.settings import describe
from services.ensemble.config import EnsembleSettings
from services.gateway.config import GatewaySettings
from services.learning.config import LearningSettings

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "base"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


@dataclass(frozen=True)
class Truth:
    """What the code says about one service."""

    readiness: str  # the fully qualified gRPC service name, set by the health bootstrap
    settings: type

    @property
    def probe_names(self) -> set[str]:
        return {LIVENESS, self.readiness}

    @property
    def envs(self) -> dict[str, str]:
        return {row["env"]: row["default"] for row in describe(self.settings)}


SERVICES = {
    "gateway": Truth(gateway_pb2.DESCRIPTOR.services_by_name["Gateway"].full_name, GatewaySettings),
    "classifier": Truth(
        classifier_pb2.DESCRIPTOR.services_by_name["Classifier"].full_name, ClassifierSettings
    ),
    "ensemble": Truth(
        ensemble_pb2.DESCRIPTOR.services_by_name["Ensemble"].full_name, EnsembleSettings
    ),
    "learning": Truth(
        learning_pb2.DESCRIPTOR.services_by_name["Learning"].full_name, LearningSettings
    ),
}


def port_env(name: str) -> str:
    return f"FREESCALING_{name.upper()}_PORT"


def load_documents() -> list[dict]:
    docs = []
    for path in sorted(BASE.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        with path.open() as f:
            docs.extend(doc for doc in yaml.safe_load_all(f) if doc)
    return docs


DOCS = load_documents()
DEPLOYMENTS = {d["metadata"]["name"]: d for d in DOCS if d["kind"] == "Deployment"}
K8S_SERVICES = {d["metadata"]["name"]: d for d in DOCS if d["kind"] == "Service"}


def containers(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]


def container_ports(container: dict) -> list[int]:
    return [p["containerPort"] for p in container.get("ports", [])]


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_every_service_has_a_deployment_and_a_service():
    assert set(DEPLOYMENTS) == set(SERVICES)
    assert set(K8S_SERVICES) == set(SERVICES)


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    files = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    # Overlays choose the namespace.
    assert "namespace" not in kustomization


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_pod_spec(name):
    pod = DEPLOYMENTS[name]["spec"]["template"]["spec"]
    # A Service named `classifier` would otherwise inject CLASSIFIER_PORT=tcp://... variables.
    assert pod.get("enableServiceLinks") is False
    assert containers(DEPLOYMENTS[name]), f"{name} has no containers"
    for container in containers(DEPLOYMENTS[name]):
        requests = container.get("resources", {}).get("requests", {})
        assert {"cpu", "memory"} <= set(requests), f"{name}/{container['name']}: {requests}"
        # The drain grace must end before the kubelet's SIGKILL.
        grace = float(env_of(container).get("FREESCALING_GRACE_S", "0"))
        assert grace < pod["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_probes_are_grpc_on_the_container_port(name):
    for container in containers(DEPLOYMENTS[name]):
        assert "readinessProbe" in container and "livenessProbe" in container
        for kind in PROBES:
            if kind not in container:
                continue
            probe = container[kind]
            assert "grpc" in probe, f"{name}/{container['name']} {kind} is not a gRPC probe"
            port = probe["grpc"]["port"]
            # Kubernetes gRPC probes take a number only, never a port name.
            assert type(port) is int, f"{name} {kind} port {port!r} is not an int"
            assert port in container_ports(container), f"{name} {kind} port {port}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_probe_service_names_are_the_ones_the_service_sets(name):
    truth = SERVICES[name]
    for container in containers(DEPLOYMENTS[name]):
        for kind in PROBES:
            if kind in container:
                # An absent `service` means "", the liveness name.
                service = container[kind]["grpc"].get("service", "")
                assert service in truth.probe_names, f"{name} {kind} checks {service!r}"
        assert container["readinessProbe"]["grpc"].get("service") == truth.readiness
        assert container["livenessProbe"]["grpc"].get("service", "") == LIVENESS


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_ports_and_env_match_the_settings(name):
    truth = SERVICES[name]
    default_port = int(truth.envs[port_env(name)])
    for container in containers(DEPLOYMENTS[name]):
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        # FREESCALING_METRICS_PORT's default is the gRPC port + 1000.
        assert named == {"grpc": default_port, "metrics": default_port + 1000}
        annotations = DEPLOYMENTS[name]["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(default_port + 1000)
        env = env_of(container)
        assert env.get(port_env(name)) == str(default_port)
        unknown = {k for k in env if k.startswith("FREESCALING_")} - set(truth.envs)
        assert not unknown, f"{name} sets variables it does not read: {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_targets_its_deployment(name):
    service, deployment = K8S_SERVICES[name], DEPLOYMENTS[name]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = service["spec"]["selector"]
    assert selector, f"Service {name} selects nothing"
    assert selector.items() <= pod_labels.items(), f"{selector} does not select {pod_labels}"
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    ports = {p for c in containers(deployment) for p in container_ports(c)}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in ports, f"Service {name} targets {port['targetPort']}"


def test_kustomize_renders():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH; cannot render the kustomization")
    result = subprocess.run(
        [kubectl, "kustomize", str(BASE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    kinds = [doc["kind"] for doc in rendered]
    assert kinds.count("Deployment") == 4
    assert kinds.count("Service") == 4
