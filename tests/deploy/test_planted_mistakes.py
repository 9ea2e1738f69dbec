"""Mistakes planted in a copy of the rendered manifests are caught, each by the check meant for
it, with a message that says what is wrong. Among them the nine once planted in the base that
no test caught: a misspelt readOnlyRootFilesystem, an integer env value, a grace period
shorter than the gateway's shutdown, a wrong downstream port, three learning replicas on
SQLite, an unwritable (relative) database path, a probe on the wrong health name, a probe port
given by name, a setting that does not exist. And two that passed until issue 21: an image
tagged `latest`, and one with no tag at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.deploy import manifests
from tests.deploy.manifests import main_container, of_kind, pod, render


def _deployment(docs, name):
    return of_kind(docs, "Deployment")[name]


def _container(docs, name):
    return main_container(_deployment(docs, name))


def _env(docs, name, var, value, container=None):
    target = container or _container(docs, name)
    for entry in target["env"]:
        if entry["name"] == var:
            entry.pop("valueFrom", None)
            entry["value"] = value
            return
    target["env"].append({"name": var, "value": value})


def misspelt_read_only_root(docs):
    sc = _container(docs, "gateway")["securityContext"]
    sc["readOnlyRootFileSystem"] = sc.pop("readOnlyRootFilesystem")


def integer_env_value(docs):
    _env(docs, "ensemble", "FREESCALING_GRACE_S", 20)


def grace_shorter_than_the_gateways_shutdown(docs):
    pod(_deployment(docs, "gateway"))["terminationGracePeriodSeconds"] = 25


def no_prestop(docs):
    del _container(docs, "classifier")["lifecycle"]


def wrong_downstream_port(docs):
    _env(docs, "gateway", "FREESCALING_ENSEMBLE_ADDR", "dns:///ensemble:50054")


def downstream_through_a_clusterip(docs):
    of_kind(docs, "Service")["ensemble"]["spec"].pop("clusterIP")


def three_learning_replicas_on_sqlite(docs):
    _deployment(docs, "learning")["spec"]["replicas"] = 3


def rolling_update_on_sqlite(docs):
    _deployment(docs, "learning")["spec"]["strategy"] = {"type": "RollingUpdate"}


def relative_database_path(docs):
    for container in manifests.all_containers(_deployment(docs, "learning")):
        _env(
            docs,
            "learning",
            "FREESCALING_LEARNING_DATABASE_URL",
            "sqlite:///data/learning.db",
            container,
        )


def database_off_the_volume(docs):
    for container in manifests.all_containers(_deployment(docs, "learning")):
        _env(
            docs,
            "learning",
            "FREESCALING_LEARNING_DATABASE_URL",
            "sqlite:////var/lib/learning.db",
            container,
        )


def sqlite_on_an_emptydir(docs):
    for volume in pod(_deployment(docs, "learning"))["volumes"]:
        if volume["name"] == "data":
            volume.pop("persistentVolumeClaim")
            volume["emptyDir"] = {}


def hub_cache_on_tmp(docs):
    _env(docs, "classifier", "HF_HOME", "/tmp/huggingface")


def migrations_elsewhere(docs):
    (migrate,) = pod(_deployment(docs, "learning"))["initContainers"]
    _env(docs, "learning", "FREESCALING_LEARNING_DATABASE_URL", "sqlite:////tmp/other.db", migrate)


def no_migrations(docs):
    del pod(_deployment(docs, "learning"))["initContainers"]


def readiness_on_the_liveness_name(docs):
    _container(docs, "classifier")["readinessProbe"]["grpc"]["service"] = ""


def probe_port_by_name(docs):
    _container(docs, "learning")["livenessProbe"]["grpc"]["port"] = "grpc"


def unknown_setting(docs):
    _env(docs, "gateway", "FREESCALING_GATWAY_PORT", "50051")


def another_services_setting(docs):
    _env(docs, "ensemble", "FREESCALING_LEARNING_DATABASE_URL", "sqlite:////tmp/x.db")


def bad_setting_value(docs):
    _env(docs, "ensemble", "FREESCALING_ENSEMBLE_RATE_LIMIT_RPM", "forty")


def metrics_port_moved(docs):
    _container(docs, "learning")["ports"][1]["containerPort"] = 9090


def root_user(docs):
    pod(_deployment(docs, "ensemble"))["securityContext"]["runAsUser"] = 0


def service_account_token(docs):
    pod(_deployment(docs, "ensemble"))["automountServiceAccountToken"] = True


def no_seccomp(docs):
    del pod(_deployment(docs, "gateway"))["securityContext"]["seccompProfile"]


def unwritable_tmp(docs):
    container = _container(docs, "gateway")
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["mountPath"] != "/tmp"]


def a_key_written_in(docs):
    _env(docs, "ensemble", "NVIDIA_API_KEY", "nvapi-0123456789")


def gpu_on_the_ensemble(docs):
    _container(docs, "ensemble")["resources"]["limits"]["nvidia.com/gpu"] = 1


def gpu_without_toleration(docs):
    del pod(_deployment(docs, "classifier"))["tolerations"]


def cpu_image_on_the_gpu(docs):
    container = _container(docs, "classifier")
    container["image"] = container["image"].replace("-cuda", "")


def image_tagged_latest(docs):
    container = _container(docs, "gateway")
    container["image"] = container["image"].rpartition(":")[0] + ":latest"


def image_without_a_tag(docs):
    container = _container(docs, "ensemble")
    container["image"] = container["image"].rpartition(":")[0]


def centroids_in_a_file(docs):
    container = _container(docs, "classifier")
    container["env"] = [
        e for e in container["env"] if e["name"] != "FREESCALING_CLASSIFIER_LEARNING_ADDR"
    ]


def registered_models_in_memory(docs):
    container = _container(docs, "ensemble")
    container["env"] = [
        e for e in container["env"] if e["name"] != "FREESCALING_ENSEMBLE_LEARNING_ADDR"
    ]


def ensemble_dials_the_gateway_for_learning(docs):
    container = _container(docs, "ensemble")
    (entry,) = [e for e in container["env"] if e["name"] == "FREESCALING_ENSEMBLE_LEARNING_ADDR"]
    entry["value"] = "dns:///gateway:50054"


def learning_open_to_the_namespace(docs):
    policy = of_kind(docs, "NetworkPolicy")["learning"]
    policy["spec"]["ingress"][0]["from"].append({"podSelector": {}})


def ensemble_open_to_all(docs):
    policy = of_kind(docs, "NetworkPolicy")["ensemble"]
    del policy["spec"]["ingress"][0]["from"]


def no_default_deny(docs):
    docs.remove(of_kind(docs, "NetworkPolicy")["default-deny-ingress"])


def more_ensembles_than_rate_shares(docs):
    of_kind(docs, "HorizontalPodAutoscaler")["ensemble"]["spec"]["maxReplicas"] = 10


def budget_blocks_drains(docs):
    of_kind(docs, "PodDisruptionBudget")["learning"]["spec"]["minAvailable"] = 2


def database_url_in_the_manifest(docs):
    for container in manifests.all_containers(_deployment(docs, "learning")):
        _env(
            docs,
            "learning",
            "FREESCALING_LEARNING_DATABASE_URL",
            "postgresql://u:pw@db/x",
            container,
        )


def service_selects_nothing(docs):
    of_kind(docs, "Service")["classifier"]["spec"]["selector"] = {
        "app.kubernetes.io/name": "clasifier"
    }


def registry_not_mounted(docs):
    _env(docs, "ensemble", "FREESCALING_ENSEMBLE_REGISTRY", "/etc/registry.yaml")


def unknown_custom_resource(docs):
    docs.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


CASES: list[tuple[str, Callable, str]] = [
    (
        "overlays/local",
        sqlite_on_an_emptydir,
        "learning/learning: /data/learning.db is on an emptyDir, lost with the pod",
    ),
    (
        "base",
        hub_cache_on_tmp,
        "classifier: the hub cache (HF_HOME='/tmp/huggingface') is not on its own volume",
    ),
    (
        "base",
        misspelt_read_only_root,
        "Additional properties are not allowed ('readOnlyRootFileSystem' was unexpected)",
    ),
    ("base", misspelt_read_only_root, "gateway/gateway: the root filesystem is not read-only"),
    ("base", integer_env_value, "ensemble/ensemble: FREESCALING_GRACE_S is 20, not a string"),
    (
        "base",
        grace_shorter_than_the_gateways_shutdown,
        "gateway: terminationGracePeriodSeconds 25 is not above preStop 5 s + FREESCALING_GRACE_S "
        "20 s + FREESCALING_GATEWAY_OUTBOX_FLUSH_S 5 s = 30 s",
    ),
    ("base", no_prestop, "classifier: no preStop sleep"),
    (
        "base",
        wrong_downstream_port,
        "gateway: FREESCALING_ENSEMBLE_ADDR dials port 50054; ensemble listens on 50053",
    ),
    (
        "base",
        downstream_through_a_clusterip,
        "gateway: FREESCALING_ENSEMBLE_ADDR names 'ensemble', which is not headless",
    ),
    (
        "overlays/local",
        three_learning_replicas_on_sqlite,
        "learning: 3 replicas on one SQLite file",
    ),
    ("overlays/local", rolling_update_on_sqlite, "learning: SQLite needs the Recreate strategy"),
    (
        "overlays/local",
        relative_database_path,
        "learning/learning: sqlite:///data/learning.db is relative: it would land on the "
        "read-only root",
    ),
    (
        "overlays/local",
        database_off_the_volume,
        "learning/learning: /var/lib/learning.db is not on a writable volume",
    ),
    (
        "overlays/local",
        migrations_elsewhere,
        "learning: the migrations and the service use different databases",
    ),
    ("overlays/production", no_migrations, "learning: no `migrate` init container"),
    (
        "base",
        readiness_on_the_liveness_name,
        "classifier: readinessProbe checks '', not 'freescaling.classifier.v1.Classifier'",
    ),
    ("base", probe_port_by_name, "learning: livenessProbe port 'grpc' is not 50054"),
    (
        "base",
        unknown_setting,
        "gateway/gateway: sets FREESCALING_GATWAY_PORT, which gateway does not read",
    ),
    (
        "base",
        another_services_setting,
        "ensemble/ensemble: sets FREESCALING_LEARNING_DATABASE_URL, which ensemble does not read",
    ),
    (
        "base",
        bad_setting_value,
        "FREESCALING_ENSEMBLE_RATE_LIMIT_RPM='forty' is not a valid number",
    ),
    ("base", metrics_port_moved, "learning: container ports {'grpc': 50054, 'metrics': 9090}"),
    ("base", root_user, "ensemble: the pod may run as root"),
    ("base", service_account_token, "ensemble: automountServiceAccountToken is not false"),
    ("base", no_seccomp, "gateway: seccompProfile is not RuntimeDefault"),
    ("base", unwritable_tmp, "gateway/gateway: no writable /tmp"),
    ("base", a_key_written_in, "ensemble/ensemble: NVIDIA_API_KEY is written in"),
    (
        "overlays/local",
        gpu_on_the_ensemble,
        "ensemble: a nvidia.com/gpu limit (only the production classifier has one)",
    ),
    ("overlays/production", gpu_on_the_ensemble, "ensemble: a nvidia.com/gpu limit"),
    (
        "overlays/production",
        gpu_without_toleration,
        "classifier: does not tolerate the GPU nodes' taint",
    ),
    ("overlays/production", cpu_image_on_the_gpu, "is not the CUDA image"),
    (
        "overlays/production",
        image_tagged_latest,
        "gateway/gateway: image registry.example.com/freescaling/gateway:latest is tagged "
        "latest: pin a version",
    ),
    (
        "overlays/production",
        image_without_a_tag,
        "ensemble/ensemble: image registry.example.com/freescaling/ensemble has no tag (latest)",
    ),
    ("base", image_tagged_latest, "gateway/gateway: image freescaling/gateway:latest is tagged"),
    ("base", centroids_in_a_file, "classifier: centroids in a local file"),
    (
        "base",
        registered_models_in_memory,
        "ensemble: registered models in one pod's memory (no FREESCALING_ENSEMBLE_LEARNING_ADDR)",
    ),
    (
        "base",
        ensemble_dials_the_gateway_for_learning,
        "ensemble: FREESCALING_ENSEMBLE_LEARNING_ADDR names 'gateway', not a Service of the "
        "learning pods",
    ),
    (
        "overlays/production",
        learning_open_to_the_namespace,
        "NetworkPolicy/learning: ['learning'] may reach learning",
    ),
    (
        "overlays/production",
        ensemble_open_to_all,
        "NetworkPolicy/ensemble: ensemble ports ['50053'] open to all",
    ),
    ("overlays/production", no_default_deny, "gateway: no default-deny policy selects its pods"),
    (
        "overlays/production",
        more_ensembles_than_rate_shares,
        "ensemble: up to 10 replicas share the provider key but "
        "FREESCALING_ENSEMBLE_RATE_LIMIT_REPLICAS is 6",
    ),
    (
        "overlays/production",
        budget_blocks_drains,
        "learning: the budget blocks every drain (2 replicas)",
    ),
    (
        "overlays/production",
        database_url_in_the_manifest,
        "learning/learning: a database URL in the manifest (use a Secret)",
    ),
    (
        "base",
        service_selects_nothing,
        "Service classifier: selects {'app.kubernetes.io/name': 'clasifier'}",
    ),
    (
        "base",
        registry_not_mounted,
        "ensemble: FREESCALING_ENSEMBLE_REGISTRY='/etc/registry.yaml' is not a ConfigMap file",
    ),
    ("base", unknown_custom_resource, "Widget/w: unknown custom resource"),
]


@pytest.mark.parametrize(
    ("directory", "plant", "expected"),
    CASES,
    ids=[f"{d.split('/')[-1]}-{p.__name__}" for d, p, _ in CASES],
)
def test_a_planted_mistake_is_caught(directory, plant, expected):
    docs = render(directory)
    assert manifests.problems(directory, docs) == []
    plant(docs)
    found = manifests.problems(directory, docs)
    assert any(expected in p for p in found), "\n".join(found) or "nothing found"


def test_an_image_pinned_by_digest_is_pinned():
    docs = render("overlays/production")
    container = _container(docs, "gateway")
    container["image"] = container["image"].rpartition(":")[0] + "@sha256:" + "0" * 64
    assert manifests.problems("overlays/production", docs) == []
