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
