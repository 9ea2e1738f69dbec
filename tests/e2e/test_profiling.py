"""Profiling several models at once (the capability map), suggested panels, and onboarding that
never grades a model on a stand-in's answers, through the gateway against the running system."""

from __future__ import annotations

import grpc
import pytest

from freescaling.common.v1 import models_pb2, routing_pb2
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from tests.support.fake_openai import Step

QUESTIONS = [f"Is {n} an even number?" for n in range(10, 22)]
LABELS = ["YES" if n % 2 == 0 else "NO" for n in range(10, 22)]


@pytest.fixture(scope="module")
def gateway(system):
    return gateway_pb2_grpc.GatewayStub(system.gateway.channel())


def items() -> list[gateway_pb2.LabelledItem]:
    return [
        gateway_pb2.LabelledItem(item_id=f"even{i}", question=q, label=LABELS[i])
        for i, q in enumerate(QUESTIONS)
    ]


def test_profile_models_builds_the_capability_map(gateway):
    request = gateway_pb2.ProfileModelsRequest(
        models=["yes1", "no1", "yes2"], items=items(), answer_patterns=["YES", "NO"], trials=2
    )
    steps = list(gateway.ProfileModels(request, timeout=120))
    last = steps[-1]
    assert (last.done, last.total) == (3 * 12 * 2, 3 * 12 * 2)
    assert [(m.model, m.done, m.correct) for m in last.models] == [
        ("yes1", 24, 12),
        ("no1", 24, 12),
        ("yes2", 24, 12),
    ]
    assert all(not s.HasField("capability_map") for s in steps[:-1])
    atlas = last.capability_map
    by_model = {m.model: m for m in atlas.models}
    assert set(by_model) >= {"yes1", "no1", "yes2"}
    for alias in ("yes1", "no1", "yes2"):
        mine = by_model[alias]
        assert (mine.items, mine.trials, mine.accuracy) == (12, 2, 0.5)
        # Scripted models say the same thing every time.
        assert (mine.consistency, mine.consistency_items) == (1.0, 12)
        assert sum(c.n for c in mine.clusters) == 24
    pairs = {(p.model_a, p.model_b): p for p in atlas.correlations}
    assert pairs[("no1", "yes1")].correlation == pytest.approx(-1.0)
    assert pairs[("yes1", "yes2")].correlation == pytest.approx(1.0)
    assert atlas.estimator.method == "laplace"  # 12 items: too few to compare estimators
    again = gateway.GetCapabilityMap(
        routing_pb2.GetCapabilityMapRequest(cluster_set_id=atlas.cluster_set_id), timeout=30
    )
    assert again.models == atlas.models

    panel = gateway.SuggestPanel(
        routing_pb2.SuggestPanelRequest(size=3, candidates=["yes1", "no1", "yes2"]), timeout=30
    )
    assert sorted(panel.models) == ["no1", "yes1", "yes2"]
    # The YES-sayers outvote no1 everywhere: right on the 6 YES items only.
    assert (panel.panel_accuracy, panel.items) == (0.5, 12)


def test_profile_models_refuses_what_it_cannot_do(gateway):
    def refused(**fields) -> grpc.RpcError:
        request = gateway_pb2.ProfileModelsRequest(answer_patterns=["YES", "NO"], **fields)
        with pytest.raises(grpc.RpcError) as caught:
            list(gateway.ProfileModels(request, timeout=30))
        return caught.value

    error = refused(items=items())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "models is required" in error.details()
    error = refused(models=["yes1", "yes1"], items=items())
    assert "models lists yes1 more than once" in error.details()
    error = refused(models=["nobody"], items=items())
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_a_dead_model_is_never_profiled_on_a_stand_ins_answers(gateway, fake, system):
    fake.script("e2e/ghost", Step(status=404))
    request = gateway_pb2.OnboardModelRequest(
        alias="ghost",
        model=models_pb2.ModelInfo(
            litellm_model="nvidia_nim/e2e/ghost",
            tier=models_pb2.MODEL_TIER_FAST,
            api_base=fake.base_url,
            api_key_env="NVIDIA_API_KEY",
        ),
        items=items(),
        answer_patterns=["YES", "NO"],
        max_concurrency=1,
    )
    with pytest.raises(grpc.RpcError) as caught:
        list(gateway.OnboardModel(request, timeout=60))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "ghost is dead" in caught.value.details()
    assert "nothing of it was stored" in caught.value.details()
    atlas = gateway.GetCapabilityMap(routing_pb2.GetCapabilityMapRequest(), timeout=30)
    assert "ghost" not in {m.model for m in atlas.models}
    # Routing skips it too, and says so.
    request = gateway_pb2.RouteRequest(text="Is 40 an even number?", candidates=["ghost", "yes1"])
    routing = gateway.Route(request, timeout=30).routing
    assert routing.method == routing_pb2.ROUTING_METHOD_PROFILE
    assert routing.model == "yes1"
    assert [c.model for c in routing.candidates] == ["yes1"]
    assert "dead, skipped: ghost" in routing.reason


def _even_items(prefix: str) -> list[dict]:
    return [
        {"item_id": f"{prefix}{i}", "question": q, "label": LABELS[i]}
        for i, q in enumerate(QUESTIONS)
    ]


def test_async_client_profiles_suggests_and_evolves_from_profiles(system):
    import asyncio

    from freescaling.client import AsyncClient, ProfileProgress, SuggestedPanel

    async def scenario():
        async with AsyncClient(system.gateway.address, timeout_s=120) as fs:
            steps = [
                s async for s in fs.profile_models(["yes5", "shy1", "deep1"], _even_items("async"))
            ]
            atlas = await fs.capability_map(steps[-1].capability_map.cluster_set_id)
            panel = await fs.suggest_panel(3, ["yes5", "shy1", "deep1"])
            evolved = await fs.evolve(
                dry_run=True, source="profiles", candidates=["yes5", "shy1", "deep1"]
            )
            return steps, atlas, panel, evolved

    steps, atlas, panel, evolved = asyncio.run(scenario())
    assert all(isinstance(s, ProfileProgress) for s in steps)
    last = steps[-1]
    assert (last.done, last.total) == (36, 36)
    assert [(m.model, m.done, m.correct, m.errors) for m in last.models] == [
        ("yes5", 12, 6, 0),
        ("shy1", 12, 0, 0),  # an abstention is wrong, not a provider error
        ("deep1", 12, 6, 0),
    ]
    assert all(s.capability_map is None for s in steps[:-1])
    assert last.capability_map == atlas
    by_model = {m.model: m for m in atlas.models}
    assert (by_model["shy1"].accuracy, by_model["shy1"].items) == (0.0, 12)
    assert isinstance(panel, SuggestedPanel)
    # deep1 and yes5 outvote the abstaining shy1: right on the 6 YES items.
    assert (panel.models, panel.panel_accuracy, panel.best_single_model) == (
        ["deep1", "yes5", "shy1"],
        0.5,
        "deep1",
    )
    # deep1 and yes5 err together (phi 1); shy1 errs everywhere (no variance: 0).
    assert panel.mean_error_correlation == pytest.approx(1 / 3)
    assert (evolved.source, evolved.proposed, evolved.suggestion) == (
        "profiles",
        panel.models,
        panel,
    )
    assert not evolved.applied


def test_cli_profile_capabilities_suggest_panel_and_evolve_from_profiles(
    system, tmp_path, monkeypatch
):
    import json

    import freescaling
    from tests.e2e.test_gateway import _cli

    data = tmp_path / "even.jsonl"
    data.write_text("".join(json.dumps(item) + "\n" for item in _even_items("cli")))
    out = tmp_path / "capability_map.json"
    done = _cli(system, "profile", "--models", "yes3", "no2,yes4", "--trials", "2",
                "--data", str(data), "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "72/72 graded: yes3 24/24 (12 right), no2 24/24 (12 right), yes4 24/24 (12 right)" in (
        done.stderr
    )
    for part in ("accuracy by task type", "error correlation (phi", "routing estimator: ",
                 f"capability map written to {out}"):  # fmt: skip
        assert part in done.stdout, part
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["generated_at"] and written["cluster_set_id"]
    by_model = {m["model"]: m for m in written["models"]}
    yes3 = by_model["yes3"]
    assert (yes3["items"], yes3["trials"], yes3["accuracy"], yes3["consistency"]) == (
        12,
        2,
        0.5,
        1.0,
    )
    assert sum(t["n"] for t in yes3["task_types"]) == 24
    shown = _cli(system, "--json", "capabilities")
    assert shown.returncode == 0, shown.stderr
    assert {m["model"]: m for m in json.loads(shown.stdout)["models"]}["yes4"] == by_model["yes4"]

    panel = _cli(system, "suggest-panel", "--models", "yes3", "no2", "yes4")
    assert panel.returncode == 0, panel.stderr
    assert panel.stdout.startswith("suggested panel: no2, yes3, yes4\n")
    assert (
        "panel accuracy 50.0% against 50.0% for no2 alone, on 12 validation items; "
        "mean error correlation -0.33"
    ) in panel.stdout
    refused = _cli(system, "suggest-panel", "--size", "5", "--models", "yes3,no2,yes4")
    assert refused.returncode == 1
    assert "FAILED_PRECONDITION: a panel of 5 needs 5 profiled candidates" in refused.stderr

    dry = _cli(system, "evolve", "--from-profiles", "--dry-run", "--models", "yes3,no2,yes4")
    assert dry.returncode == 0, dry.stderr
    assert "would change the champion panel: " in dry.stdout
    assert "-> no2, yes3, yes4 (from the validation results: every panel of 3" in dry.stdout
    assert "mean error correlation -0.33)" in dry.stdout
    applied = _cli(system, "--json", "evolve", "--from-profiles", "--models", "yes3", "no2", "yes4")
    assert applied.returncode == 0, applied.stderr
    result = json.loads(applied.stdout)
    assert (result["applied"], result["source"], result["proposed"]) == (
        True,
        "profiles",
        ["no2", "yes3", "yes4"],
    )
    assert (result["suggestion"]["panel_accuracy"], result["suggestion"]["items"]) == (0.5, 12)
    history = _cli(system, "evolve", "--history")
    assert result["reason"] in history.stdout, history.stderr
    unprofiled = _cli(system, "evolve", "--from-profiles", "--dry-run", "--models", "yes3,slowyes")
    assert unprofiled.returncode == 1
    assert "FAILED_PRECONDITION: slowyes has no profile" in unprofiled.stderr

    # The module-level API reads the same map.
    monkeypatch.setenv("FREESCALING_TARGET", system.gateway.address)
    monkeypatch.delenv("FREESCALING_API_KEY", raising=False)
    freescaling.configure()
    assert {"yes3", "no2", "yes4"} <= {m.model for m in freescaling.capability_map().models}


def test_cli_profile_uses_the_shipped_validation_set_by_default(system):
    """Last in this module: 218 items make learning cross-validate its estimators."""
    import json

    from freescaling.validation import DEFAULT
    from tests.e2e.test_gateway import _cli

    shipped = [json.loads(line) for line in DEFAULT.read_text(encoding="utf-8").splitlines()]
    done = _cli(system, "--json", "profile", "--models", "yes3", "--replace")
    assert done.returncode == 0, done.stderr
    (mine,) = [m for m in json.loads(done.stdout)["models"] if m["model"] == "yes3"]
    assert mine["items"] == len(shipped) == 218
    # yes3 always says YES: right on the YES/NO items labelled YES, and abstains elsewhere.
    assert mine["accuracy"] == pytest.approx(sum(i["label"] == "YES" for i in shipped) / 218)


def test_onboarding_an_alias_known_as_another_model_is_refused(gateway, fake):
    entry = models_pb2.ModelInfo(
        litellm_model="nvidia_nim/e2e/twin-a",
        tier=models_pb2.MODEL_TIER_FAST,
        api_base=fake.base_url,
        api_key_env="NVIDIA_API_KEY",
    )
    fake.script("e2e/twin-a", Step(text="Answer: YES"))
    request = gateway_pb2.OnboardModelRequest(
        alias="twin", model=entry, items=items(), answer_patterns=["YES", "NO"]
    )
    list(gateway.OnboardModel(request, timeout=60))
    # The same entry again: onboarding again is fine.
    list(gateway.OnboardModel(request, timeout=60))
    other = models_pb2.ModelInfo()
    other.CopyFrom(entry)
    other.litellm_model = "nvidia_nim/e2e/twin-b"
    request.model.CopyFrom(other)
    with pytest.raises(grpc.RpcError) as caught:
        list(gateway.OnboardModel(request, timeout=60))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "twin" in caught.value.details()
