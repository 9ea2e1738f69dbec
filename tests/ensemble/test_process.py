"""The ensemble as a process: it refuses an invalid registry naming the bad entry, is alive but
not ready without its provider key (says which variable to set, and still answers reads, the
keyless models listed as unavailable), calls a keyless local server without any key when told
keys are not required, paces calls with its rate limiter only on the API bases whose provider
it models (its share of the key's limit when replicas share it; a wait shows in the error and
in Health), and never writes the key anywhere."""

from __future__ import annotations

import grpc
import pytest

from freescaling.common.v1 import info_pb2, models_pb2, voting_pb2
from freescaling.ensemble.v1 import ensemble_pb2, ensemble_pb2_grpc
from tests.ensemble.conftest import FAKE_KEY, start_ensemble
from tests.support.fake_openai import Step
from tests.support.processes import ServiceProcess, wait_for

YN = ["YES", "NO"]


def test_an_invalid_registry_stops_the_start_naming_the_entry(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "models:\n  - {alias: ok, model: nvidia_nim/a/b, tier: fast}\n"
        "  - {alias: broken, model: nvidia_nim/a/c, tier: warp}\n"
    )
    process = ServiceProcess("ensemble", tmp_path, env={"FREESCALING_ENSEMBLE_REGISTRY": str(bad)})
    process.start()
    assert process.wait_exit(60) == 2
    log = process.log_text()
    assert "invalid model registry (FREESCALING_ENSEMBLE_REGISTRY)" in log
    assert "model 'broken' (entry 2): tier 'warp' is not one of fast, medium, thinking" in log


def test_without_its_key_it_is_alive_but_not_ready_and_says_why(tmp_path, fake):
    process = ServiceProcess(
        "ensemble",
        tmp_path,
        env={
            "NVIDIA_API_KEY": "",
            "NVIDIA_NIM_API_KEY": "",
            "FREESCALING_ENSEMBLE_REQUIRE_KEYS": "true",
            "FREESCALING_ENSEMBLE_API_BASE": fake.base_url,
        },
    )
    process.start().wait_serving(timeout=60)
    try:
        assert process.health("") == "SERVING"
        wait_for(
            lambda: "not ready: no NVIDIA_API_KEY" in process.log_text(),
            what="the not-ready log line",
        )
        assert process.health(process.grpc_name) == "NOT_SERVING"
        info = ensemble_pb2_grpc.EnsembleStub(process.channel()).GetInfo(
            info_pb2.GetInfoRequest(), timeout=5
        )
        assert not info.ready
        # The packaged registry's default panels are NIM models: one variable, and the fix.
        assert info.not_ready_reason.startswith(
            "no NVIDIA_API_KEY: export it (a free key at build.nvidia.com), or point "
            "FREESCALING_ENSEMBLE_API_BASE at an OpenAI-compatible server (with "
            "FREESCALING_ENSEMBLE_REQUIRE_KEYS=false when it takes no key)"
        )
        assert "default-k1, default-k3, default-k5" in info.not_ready_reason
        (line,) = [r for r in process.log_records() if r["message"].startswith("not ready:")]
        assert line["level"] == "ERROR" and info.not_ready_reason in line["message"]
        # Reads answer all the same: every NIM model is listed as unavailable, with why.
        stub = ensemble_pb2_grpc.EnsembleStub(process.channel())
        listed = {
            m.alias: m for m in stub.ListModels(models_pb2.ListModelsRequest(), timeout=5).models
        }
        assert listed["llama-3.3"].unavailable
        assert listed["llama-3.3"].unavailable_reason == (
            "no API key: set NVIDIA_API_KEY or NVIDIA_NIM_API_KEY in the ensemble's environment"
        )
        assert not stub.ListModels(models_pb2.ListModelsRequest(live_only=True), timeout=5).models
        panels = stub.ListPanels(models_pb2.ListPanelsRequest(), timeout=5).panels
        assert "too few models can be called" in panels[0].reason
        with pytest.raises(grpc.RpcError) as err:
            stub.Scale(ensemble_pb2.ScaleRequest(question="q", k=3, answer_patterns=YN), timeout=5)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "NVIDIA_API_KEY" in err.value.details()
        assert not fake.requests  # nothing was sent without a key
    finally:
        assert process.stop() == 0


def test_with_its_key_it_is_ready(tmp_path, fake):
    process = start_ensemble(tmp_path, fake, FREESCALING_ENSEMBLE_REQUIRE_KEYS="true")
    try:
        info = ensemble_pb2_grpc.EnsembleStub(process.channel()).GetInfo(
            info_pb2.GetInfoRequest(), timeout=5
        )
        assert info.ready and info.not_ready_reason == ""
    finally:
        assert process.stop() == 0


def test_keys_not_required_a_keyless_local_server_answers_with_no_dummy_key(tmp_path, fake):
    fake.reset()
    process = start_ensemble(
        tmp_path,
        fake,
        NVIDIA_API_KEY="",
        NVIDIA_NIM_API_KEY="",
        FREESCALING_ENSEMBLE_REQUIRE_KEYS="false",
    )
    try:
        assert process.health(process.grpc_name) == "SERVING"
        stub = ensemble_pb2_grpc.EnsembleStub(process.channel())
        result = stub.Scale(
            ensemble_pb2.ScaleRequest(question="q", k=3, answer_patterns=YN), timeout=10
        )
        assert result.outcome == voting_pb2.SCALE_OUTCOME_MAJORITY and result.answer == "YES"
        assert all(not v.error for v in result.votes)
        listed = stub.ListModels(models_pb2.ListModelsRequest(), timeout=5).models
        assert not any(m.unavailable for m in listed)
        report = stub.Health(models_pb2.ModelHealthRequest(models=["f1"]), timeout=10)
        assert report.models[0].status == models_pb2.HEALTH_STATUS_OK
        # No key of ours left the process: the server got only the SDK's placeholder.
        sent = fake.requests_for("test/f1")
        assert sent and all(FAKE_KEY not in str(r.headers) for r in sent)
        info = stub.GetInfo(info_pb2.GetInfoRequest(), timeout=5)
        assert all(c.built for c in info.capabilities)
        assert info.settings["rate_limit_rpm"] == "0.0"
        assert process.health(process.grpc_name) == "SERVING"
    finally:
        assert process.stop() == 0


@pytest.fixture(scope="module")
def paced(tmp_path_factory, fake):
    process = start_ensemble(
        tmp_path_factory.mktemp("paced"),
        fake,
        FREESCALING_ENSEMBLE_RATE_LIMIT_RPM="120",
        FREESCALING_ENSEMBLE_RATE_LIMIT_BURST="2",
        # The fake plays the provider whose limit the limiter models.
        FREESCALING_ENSEMBLE_RATE_LIMIT_BASES=fake.base_url,
        FREESCALING_LOG_LEVEL="DEBUG",
    )
    yield process
    assert process.stop() == 0


def test_the_rate_limiter_paces_a_batch_under_its_ceiling(paced, fake):
    fake.script("test/f1", Step(text="YES"))
    stub = ensemble_pb2_grpc.EnsembleStub(paced.channel())
    # Warm the client up (its first call is slower to leave the process), then measure.
    stub.Scale(
        ensemble_pb2.ScaleRequest(question="q", models=["f1"], answer_patterns=YN, no_shadow=True),
        timeout=10,
    )
    fake.reset()
    items = [ensemble_pb2.ScaleItem(question=f"q{i}") for i in range(6)]
    results = list(
        stub.ScaleBatch(
            ensemble_pb2.ScaleBatchRequest(
                items=items, models=["f1"], answer_patterns=YN, no_shadow=True, max_concurrency=6
            ),
            timeout=30,
        )
    )
    assert all(r.result.answer == "YES" for r in results)
    starts = sorted(r.started for r in fake.requests_for("test/f1"))
    assert len(starts) == 6
    # 120 per minute with a burst of 2: six requests cannot span less than (6 - 2) * 0.5 s. The
    # server sees them a little after the limiter lets them go (client-side jitter, hence the
    # slack); without the limiter they all arrive within milliseconds.
    assert starts[-1] - starts[0] >= (6 - 2) * 0.5 - 0.3


def test_no_log_line_or_error_carries_the_key(paced, fake):
    fake.reset()
    for alias, status in [("f1", 401), ("f2", 500), ("f3", 404)]:
        fake.script(f"test/{alias}", Step(status=status))
    stub = ensemble_pb2_grpc.EnsembleStub(paced.channel())
    result = stub.Scale(
        ensemble_pb2.ScaleRequest(
            question="q", models=["f1", "f2", "f3"], answer_patterns=YN, no_shadow=True
        ),
        timeout=20,
    )
    errors = [v.error for v in result.votes]
    assert any("HTTP 401" in e for e in errors)
    report = stub.Health(models_pb2.ModelHealthRequest(models=["f1", "f2", "f3"]), timeout=20)
    errors += [m.error for m in report.models]
    with pytest.raises(grpc.RpcError) as err:
        list(
            stub.Complete(
                ensemble_pb2.CompleteRequest(
                    model="f1", messages=[{"role": "user", "content": "hi"}]
                ),
                timeout=10,
            )
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "NVIDIA_API_KEY" in err.value.details()
    errors.append(err.value.details())
    info = stub.GetInfo(info_pb2.GetInfoRequest(), timeout=5)
    assert all(FAKE_KEY not in e for e in errors)
    assert FAKE_KEY not in str(info)
    log = paced.log_text()
    assert "HTTP 401" in log or "DEBUG" in log  # the DEBUG log was written
    assert FAKE_KEY not in log
    # The key did reach the provider: the fake saw an Authorization header.
    assert fake.requests_for("test/f1")[0].headers["authorization-present"] == "True"


def test_background_probes_find_a_dead_model_on_their_own(tmp_path, fake):
    fake.script("test/t2", Step(status=410))
    process = start_ensemble(tmp_path, fake, FREESCALING_ENSEMBLE_PROBE_INTERVAL_S="0.5")
    try:
        stub = ensemble_pb2_grpc.EnsembleStub(process.channel())

        def t2_dead() -> bool:
            listed = stub.ListModels(models_pb2.ListModelsRequest(), timeout=5).models
            return {m.alias: m.dead for m in listed}["t2"]

        wait_for(t2_dead, timeout=20, what="the background probe to mark t2 dead")
        assert fake.requests_for("test/t2")  # found by probing, no vote asked it
        assert process.health(process.grpc_name) == "SERVING"
        # The round is logged once every model's probe is done, which can be after t2's: a
        # model the module's earlier tests left failing is tried again before it gives up.
        wait_for(
            lambda: any("background probe" in r.get("message", "") for r in process.log_records()),
            timeout=20,
            what="the background probe round's log line",
        )
    finally:
        assert process.stop() == 0


def test_replicas_sharing_a_key_start_no_more_than_its_burst_together(tmp_path, fake):
    """Two replicas told they share the key (RATE_LIMIT_REPLICAS=2) with a burst of 2 and a
    pace of one request per 20 s each: together they start 2 requests, not 4. The third call
    to each would wait 20 s, past its 3 s deadline, so it is refused at once (no timing)."""
    fake.script("test/f1", Step(text="YES"))
    limits = {
        "FREESCALING_ENSEMBLE_RATE_LIMIT_RPM": "6",
        "FREESCALING_ENSEMBLE_RATE_LIMIT_BURST": "2",
        "FREESCALING_ENSEMBLE_RATE_LIMIT_REPLICAS": "2",
        "FREESCALING_ENSEMBLE_RATE_LIMIT_BASES": fake.base_url,
    }
    replicas = [start_ensemble(tmp_path / f"r{i}", fake, **limits) for i in range(2)]
    try:
        fake.reset()
        outcomes = []
        for replica in replicas:
            stub = ensemble_pb2_grpc.EnsembleStub(replica.channel())
            info = stub.GetInfo(info_pb2.GetInfoRequest(), timeout=5)
            assert info.settings["rate_limit_rpm_per_replica"] == "3"
            assert info.settings["rate_limit_burst_per_replica"] == "1"
            for _ in range(2):
                result = stub.Scale(
                    ensemble_pb2.ScaleRequest(
                        question="q", models=["f1"], answer_patterns=YN, no_shadow=True
                    ),
                    timeout=3,
                )
                outcomes.append(result.votes[0].error or result.answer)
        assert len(fake.requests_for("test/f1")) == 2
        assert outcomes.count("YES") == 2
        refused = [o for o in outcomes if o != "YES"]
        assert len(refused) == 2
        assert all(
            "waiting for the client-side rate limit of 3 requests a minute per key "
            "(FREESCALING_ENSEMBLE_RATE_LIMIT_RPM)"
            in o
            and "beyond this call's deadline" in o
            for o in refused
        )
        # Health says a call would wait now, and for what.
        stub = ensemble_pb2_grpc.EnsembleStub(replicas[0].channel())
        (probed,) = stub.Health(models_pb2.ModelHealthRequest(models=["f1"]), timeout=5).models
        assert probed.rate_limit_wait_s > 5
        assert "client-side rate limit" in probed.error
    finally:
        for replica in replicas:
            assert replica.stop() == 0


def test_the_limiter_leaves_other_api_bases_alone(tmp_path, fake):
    """The same tight limit (6 a minute, one at once) that refuses a second call within 3 s on
    the base it models lets every call through to a base it does not (here the fake, playing a
    local server: NIM's base is the default)."""
    fake.script("test/f1", Step(text="YES"))
    process = start_ensemble(
        tmp_path,
        fake,
        FREESCALING_ENSEMBLE_RATE_LIMIT_RPM="6",
        FREESCALING_ENSEMBLE_RATE_LIMIT_BURST="1",
    )
    try:
        stub = ensemble_pb2_grpc.EnsembleStub(process.channel())
        for _ in range(3):
            result = stub.Scale(
                ensemble_pb2.ScaleRequest(
                    question="q", models=["f1"], answer_patterns=YN, no_shadow=True
                ),
                timeout=3,
            )
            assert result.answer == "YES", result.votes[0].error
        (probed,) = stub.Health(models_pb2.ModelHealthRequest(models=["f1"]), timeout=5).models
        assert probed.rate_limit_wait_s == 0
    finally:
        assert process.stop() == 0
