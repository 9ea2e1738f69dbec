"""Core pieces with injected time: the rate limiter's ceiling, the dead-model table's TTL, and
the pool's substitution and retry after the TTL (against the local fake server, no sleeping),
and who judges best-of-k."""

from __future__ import annotations

import asyncio

import pytest

from services.ensemble import registry as reg
from services.ensemble.deadmodels import DeadModels
from services.ensemble.ratelimit import RateLimited, RateLimiter
from tests.ensemble.conftest import FAKE_KEY, registry_yaml
from tests.support.fake_openai import Step


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- rate limiter -----------------------------------------------------------------------------
@pytest.mark.parametrize(("rpm", "burst"), [(40, 1), (40, 5), (600, 10), (1, 3)])
def test_limiter_never_exceeds_its_ceiling_in_any_window(rpm, burst):
    clock = Clock()
    limiter = RateLimiter(rpm, burst, clock)
    starts = []
    # 200 requests arriving at once (a batch), then more trickling in.
    for i in range(200):
        clock.now = 1000.0 + (0 if i < 150 else (i - 150) * 0.01)
        starts.append(clock.now + limiter.reserve("nim"))
    starts.sort()
    interval = 60 / rpm
    for window in (1.0, 10.0, 60.0):
        for i, begin in enumerate(starts):
            inside = sum(1 for s in starts[i:] if s < begin + window)
            assert inside <= burst + window / interval + 1e-9
    # And it does not throttle more than it must: the last one starts on schedule.
    assert starts[-1] == pytest.approx(1000.0 + (200 - burst) * interval)


def test_limiter_keys_are_independent_and_zero_disables():
    clock = Clock()
    limiter = RateLimiter(60, 1, clock)
    assert limiter.reserve("a") == 0
    assert limiter.reserve("b") == 0
    assert limiter.reserve("a") == pytest.approx(1.0)
    off = RateLimiter(0, 1, clock)
    assert all(off.reserve("a") == 0 for _ in range(1000))


def test_limiter_refuses_a_wait_past_the_deadline_without_taking_a_slot():
    clock = Clock()
    limiter = RateLimiter(60, 1, clock)
    limiter.reserve("a")
    with pytest.raises(RateLimited, match=r"1\.0 s away"):
        limiter.reserve("a", deadline=clock.now + 0.5)
    assert limiter.reserve("a", deadline=clock.now + 2) == pytest.approx(1.0)


# -- dead table -------------------------------------------------------------------------------
def test_dead_models_expire_after_their_ttl():
    clock = Clock()
    dead = DeadModels(300, clock)
    assert dead.mark("x", "HTTP 404") == 1300.0
    clock.now = 1299.9
    assert dead.is_dead("x") and dead.why("x") == "HTTP 404"
    clock.now = 1300.0
    assert not dead.is_dead("x") and dead.until("x") is None


# -- the pool: substitution, and retry after the TTL ------------------------------------------
@pytest.fixture(scope="module")
def core(fake, tmp_path_factory):
    from services.ensemble.pool import Pool
    from services.ensemble.provider import Provider

    path = tmp_path_factory.mktemp("core") / "registry.yaml"
    path.write_text(registry_yaml(fake.base_url))
    clock = Clock()
    dead = DeadModels(300, clock)
    provider = Provider(RateLimiter(0), environ={"NVIDIA_API_KEY": FAKE_KEY})
    return Pool(reg.load(path), provider, dead), clock


def test_dead_model_is_substituted_until_its_ttl_then_retried(core, fake):
    pool, clock = core
    fake.script("test/m1", Step(status=404), Step(text="back again"))
    fake.script("test/m2", Step(text="stand-in"))
    model = pool.registry.get("m1")

    async def ask():
        return await pool.ask(model, [{"role": "user", "content": "hi"}], 1e12, {"m1"})

    async def scenario():
        first = await ask()
        assert (first.model.alias, first.substituted_for) == ("m2", "m1")
        assert first.reply.text == "stand-in" and first.calls == 2
        assert pool.dead.until("m1") == clock.now + 300

        clock.now += 299
        second = await ask()
        assert second.model.alias == "m2" and second.calls == 1
        assert len(fake.requests_for("test/m1")) == 1  # skipped within the TTL

        clock.now += 1  # the TTL has passed: m1 is asked again, and answers
        third = await ask()
        assert (third.model.alias, third.substituted_for) == ("m1", "")
        assert third.reply.text == "back again"
        assert len(fake.requests_for("test/m1")) == 2
        await pool.provider.close()

    # One event loop for the whole scenario: the provider's connection pool belongs to it.
    asyncio.run(scenario())


def test_no_live_model_of_the_tier_is_an_error_naming_both(core, fake):
    pool, _ = core
    for alias in ("t1", "t2"):
        pool.dead.mark(alias, "HTTP 410")
    # Answered from the dead table alone: no HTTP request is made.
    asked = asyncio.run(
        pool.ask(pool.registry.get("t1"), [{"role": "user", "content": "hi"}], 1e12, {"t1"})
    )
    assert asked.error.kind == "dead"
    assert "t1 is dead (HTTP 410) and no live thinking model can stand in" in asked.error.message
    assert not fake.requests_for("test/t1")


def test_registry_errors_name_the_bad_entry(tmp_path):
    cases = {
        "models: [{alias: a, model: nvidia_nim/x, tier: slowish}]": (
            "model 'a' (entry 1): tier 'slowish' is not one of fast, medium, thinking"
        ),
        "models: [{alias: a, model: x, tier: fast}]": "model 'a' (entry 1): model 'x' is not",
        "models: [{alias: a, model: p/x, tier: fast}, {alias: a, model: p/y, tier: fast}]": (
            "model 'a' (entry 2): alias 'a' is defined twice"
        ),
        "models: [{alias: a, model: p/x, tier: fast, cost: -1}]": (
            "cost must be a number, 0 or more"
        ),
        "models: [{alias: a, model: p/x, tier: fast, colour: red}]": "unknown keys ['colour']",
        "models: [{model: p/x, tier: fast}]": "models entry 1: 'alias' is required",
        "models: [{alias: a, model: p/x, tier: fast}]\npanels: {p: [a, b]}": (
            "panel 'p': unknown model 'b'"
        ),
        "models: [{alias: a, model: p/x, tier: fast}]\npanels: {default-k3: [a]}": (
            "panel 'default-k3' must have 3 models, has 1"
        ),
        # A key where the variable's name belongs, or in the API base, is refused unrepeated.
        "models: [{alias: a, model: p/x, tier: fast, api_key_env: nvapi-SECRET-1}]": (
            "model 'a' (entry 1): api_key_env must name the environment variable that holds "
            "the key (capital letters, digits and _, at most 128, e.g. NVIDIA_API_KEY), never "
            "the key itself"
        ),
        "models: [{alias: a, model: p/x, tier: fast, api_base: 'https://u:SECRET-1@h/v1'}]": (
            "model 'a' (entry 1): api_base must not carry credentials (user:password@ or a "
            "query string)"
        ),
        "models: [{alias: a, model: p/x, tier: fast, api_base: 'h/v1?key=SECRET-1'}]": (
            "model 'a' (entry 1): api_base must be an http:// or https:// URL with a host"
        ),
        "models: []": "'models' must be a non-empty list",
        "models: [": "not valid YAML",
    }
    for text, message in cases.items():
        path = tmp_path / "r.yaml"
        path.write_text(text)
        with pytest.raises(reg.RegistryError) as err:
            reg.load(path)
        assert message in str(err.value), text
        assert str(path) in str(err.value)
        assert "SECRET" not in str(err.value)


def test_the_default_registry_holds_nim_s_13_models_and_the_examples():
    default = reg.load()
    nim = [m for m in default.models.values() if m.provider == "nvidia_nim"]
    assert len(nim) == 13
    assert {m.tier for m in nim} == {"fast", "medium", "thinking"}
    assert sum(m.tier == "thinking" for m in nim) == 3
    assert default.get("llama-3.3").litellm_model == "nvidia_nim/meta/llama-3.3-70b-instruct"
    assert all(m.api_key_env == "NVIDIA_API_KEY" for m in nim)
    assert {m.alias for m in default.models.values() if m.alias.startswith("cp-")}
    assert all(
        m.provider == "github_copilot" for m in default.models.values() if m.alias.startswith("cp-")
    )
    assert {"qwen-flash", "qwen-plus", "qwen-max"} <= set(default.models)
    assert default.get("deepseek-v3.1").thinking and default.get("deepseek-v3.1").cost == 6.0
    for k in (1, 3, 5):
        assert len(default.panels[f"default-k{k}"]) == k


# -- who judges best-of-k ---------------------------------------------------------------------
@pytest.fixture
def judging(tmp_path):
    from services.ensemble.pool import Pool
    from services.ensemble.provider import Provider

    path = tmp_path / "registry.yaml"
    path.write_text(registry_yaml())
    provider = Provider(RateLimiter(0), environ={"NVIDIA_API_KEY": FAKE_KEY})
    return Pool(reg.load(path), provider, DeadModels(300, Clock()))


def _aliases(models) -> list[str]:
    return [m.alias for m in models]


def test_judges_are_the_judges_panel_then_stronger_tiers_outside_the_generators(judging):
    from services.ensemble.judge import generators_and_judges

    generators, judges = generators_and_judges(judging, 5, [], [])
    assert _aliases(generators) == ["f1", "f2", "f3", "f4", "f5"]
    assert _aliases(judges) == ["m1", "m2", "m3", "m4", "m5"]
    judging.dead.mark("m2", "HTTP 410")
    judging.dead.mark("m5", "HTTP 410")
    _, judges = generators_and_judges(judging, 5, [], [])
    assert _aliases(judges) == ["m1", "m3", "m4", "m6", "t1"]  # medium, then thinking


def test_named_judges_judge_unless_one_also_generates(judging):
    from services.ensemble.judge import generators_and_judges
    from services.ensemble.pool import BadRequest

    _, judges = generators_and_judges(judging, 0, ["f1", "f2"], ["t2", "f9"])
    assert _aliases(judges) == ["t2", "f9"]
    with pytest.raises(BadRequest, match="judges must differ from the generators; f2 is both"):
        generators_and_judges(judging, 0, ["f1", "f2"], ["f2"])


def test_one_generator_needs_no_judge_and_two_need_a_live_outsider(judging):
    from services.ensemble.judge import generators_and_judges
    from services.ensemble.pool import NoModel

    assert generators_and_judges(judging, 1, [], []) == (judging.panel(1, [], ""), [])
    for alias in judging.registry.models:
        if alias not in ("f1", "f2"):
            judging.dead.mark(alias, "HTTP 410")
    with pytest.raises(NoModel, match="no live model outside the generators can judge"):
        generators_and_judges(judging, 0, ["f1", "f2"], [])
