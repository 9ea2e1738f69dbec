"""The whole system as a user meets it: the four services as separate processes, the test
classifier checkpoint, scripted models behind a local OpenAI-compatible server, and learning on
a SQLite file (the resilience tests: PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support.fake_openai import FakeOpenAI, Step
from tests.support.processes import ServiceProcess, stop_all

FAKE_KEY = "nvapi-E2E-9d8c7b6a-do-not-leak"
YES = Step(text="Thinking it over.\nAnswer: YES")
NO = Step(text="Answer: NO")

MODELS = {
    "fast": ["yes1", "yes2", "yes3", "no1", "shy1", "slowyes"],
    "medium": ["yes4", "yes5", "no2"],
    "thinking": ["deep1"],
}


def registry(api_base: str) -> str:
    lines = ["defaults: {api_key_env: NVIDIA_API_KEY}", "models:"]
    for tier, aliases in MODELS.items():
        for alias in aliases:
            lines.append(
                f"  - {{alias: {alias}, model: nvidia_nim/e2e/{alias}, tier: {tier}, "
                f"input_cost_per_mtok: 1.0, output_cost_per_mtok: 2.0, api_base: '{api_base}'}}"
            )
    lines += [
        "panels:",
        "  default-k1: [yes1]",
        "  default-k3: [yes1, yes2, no1]",
        "  default-k5: [yes1, yes2, yes3, no1, no2]",
        "  judges: [yes4, yes5, deep1]",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def fake():
    server = FakeOpenAI(default=YES).start()
    for alias in ("yes1", "yes3", "yes4", "yes5", "deep1"):
        server.script(f"e2e/{alias}", YES)
    # After yes1 and no1, so that a vote of the default panel (yes1, yes2, no1) hears all three:
    # were yes1 and yes2 first, the short-circuit would cancel no1 and leave feedback that says
    # NO was right with no winner.
    server.script("e2e/yes2", replace(YES, delay_s=0.5))
    server.script("e2e/no1", NO)
    server.script("e2e/no2", NO)
    server.script("e2e/shy1", Step(text="I would rather not say."))
    # Answers after the others, so that a 1-1 split is always decided by it: every vote counts.
    server.script("e2e/slowyes", Step(text="Answer: YES", delay_s=0.5))
    yield server
    server.stop()


class System:
    def __init__(self, workdir, fake: FakeOpenAI, database_url: str = "") -> None:
        (workdir / "registry.yaml").write_text(registry(fake.base_url))
        self.workdir = workdir
        self.learning = ServiceProcess(
            "learning",
            workdir,
            env={
                "FREESCALING_LEARNING_DATABASE_URL": database_url
                or f"sqlite:///{workdir / 'learning.db'}"
            },
        )
        self.ensemble = ServiceProcess(
            "ensemble",
            workdir,
            env={
                "NVIDIA_API_KEY": FAKE_KEY,
                "FREESCALING_ENSEMBLE_REGISTRY": str(workdir / "registry.yaml"),
                "FREESCALING_ENSEMBLE_RATE_LIMIT_RPM": "0",
            },
        )
        self.classifier = ServiceProcess(
            "classifier",
            workdir,
            env={"FREESCALING_CLASSIFIER_TIER_MODELS": "simple=yes1,medium=yes4,complex=deep1"},
        )
        self.gateway: ServiceProcess | None = None

    def start(self, **gateway_env: str) -> System:
        # Learning first: the classifier keeps its centroids there, and the ensemble the models
        # registered at run time, as in a deployment.
        self.learning.start().wait_serving(timeout=90)
        self.classifier.env["FREESCALING_CLASSIFIER_LEARNING_ADDR"] = self.learning.address
        self.ensemble.env["FREESCALING_ENSEMBLE_LEARNING_ADDR"] = self.learning.address
        for service in (self.ensemble, self.classifier):
            service.start()
        for service in (self.learning, self.ensemble, self.classifier):
            service.wait_serving(timeout=90).wait_ready(timeout=90)
        self.gateway = (
            self.gateway_for(self.classifier.address, **gateway_env)
            .start()
            .wait_serving()
            .wait_ready()
        )
        return self

    def gateway_for(self, classifier_addr: str, **env: str) -> ServiceProcess:
        return ServiceProcess(
            "gateway",
            self.workdir,
            env={
                "FREESCALING_CLASSIFIER_ADDR": classifier_addr,
                "FREESCALING_ENSEMBLE_ADDR": self.ensemble.address,
                "FREESCALING_LEARNING_ADDR": self.learning.address,
                "FREESCALING_GATEWAY_HEALTH_INTERVAL_S": "0.5",
                "FREESCALING_GATEWAY_FALLBACK_MODEL": "yes2",
                **env,
            },
        )

    def stop(self) -> None:
        # The gateway first, its records handed to a learning still up; then the rest at once.
        if self.gateway:
            assert self.gateway.stop() == 0, "gateway"
        codes = stop_all([self.classifier, self.ensemble, self.learning])
        assert codes == dict.fromkeys(codes, 0), codes


@pytest.fixture(scope="module")
def system(tmp_path_factory, fake, classifier_checkpoint):
    running = System(tmp_path_factory.mktemp("e2e"), fake).start()
    yield running
    running.stop()
