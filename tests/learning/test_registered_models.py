"""Models registered at run time, kept by learning for every ensemble replica: learning's
StoreRegisteredModel and ListRegisteredModels (idempotent by alias, an etag that says when
nothing changed, entries that never hold a key), and two ensemble replicas on one learning: a
model registered through one is usable through the other after its poll, at once when a
request names it, after a restart, and while learning is down. Both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from freescaling.common.v1 import info_pb2, models_pb2, voting_pb2
from freescaling.ensemble.v1 import ensemble_pb2, ensemble_pb2_grpc
from freescaling.learning.v1 import learning_pb2
from services.learning.db import Database
from services.learning.schema import registered_models
from tests.ensemble.conftest import FAKE_KEY, start_ensemble
from tests.learning.helpers import TIMEOUT, unique
from tests.support.fake_openai import FakeOpenAI, Step
from tests.support.processes import ServiceProcess, wait_for

FAST = models_pb2.MODEL_TIER_FAST


def entry(alias: str, **fields) -> models_pb2.ModelInfo:
    values = {
        "litellm_model": f"nvidia_nim/test/{alias}",
        "tier": FAST,
        "routing_cost": 1.0,
        "api_key_env": "NVIDIA_API_KEY",
        **fields,
    }
    return models_pb2.ModelInfo(alias=alias, **values)


def store(stub, info: models_pb2.ModelInfo) -> learning_pb2.StoreRegisteredModelResponse:
    return stub.StoreRegisteredModel(
        learning_pb2.StoreRegisteredModelRequest(model=info), timeout=TIMEOUT
    )


def listed(stub, known_etag: str = "") -> learning_pb2.ListRegisteredModelsResponse:
    return stub.ListRegisteredModels(
        learning_pb2.ListRegisteredModelsRequest(known_etag=known_etag), timeout=TIMEOUT
    )


# -- learning's RPCs ------------------------------------------------------------------------
def test_an_entry_is_stored_once_and_listed_with_an_etag_that_says_when_nothing_changed(stub):
    first, second = unique("reg"), unique("reg")
    before = listed(stub)
    stored = store(stub, entry(first, input_cost_per_mtok=0.5, thinking=True))
    assert stored.created
    assert stored.registered.model.alias == first
    assert stored.registered.model.provider == "nvidia_nim"
    assert stored.registered.model.input_cost_per_mtok == 0.5 and stored.registered.model.thinking
    assert stored.etag != before.etag

    now = listed(stub)
    assert now.etag == stored.etag and not now.unchanged
    assert [m.model.alias for m in now.models][-1] == first
    assert now.models[-1].registered_at == stored.registered.registered_at
    # Asked with the etag it has, a poller gets nothing but the etag.
    same = listed(stub, now.etag)
    assert same.unchanged and same.etag == now.etag and not same.models

    # The same entry again changes nothing, and says so.
    again = store(stub, entry(first, input_cost_per_mtok=0.5, thinking=True))
    assert not again.created and again.etag == now.etag
    assert again.registered.registered_at == stored.registered.registered_at

    # Another entry changes the etag; entries come in registration order.
    store(stub, entry(second))
    after = listed(stub, now.etag)
    assert not after.unchanged and after.etag != now.etag
    assert [m.model.alias for m in after.models][-2:] == [first, second]


def test_a_different_entry_under_a_registered_alias_is_refused(stub):
    alias = unique("reg")
    store(stub, entry(alias))
    etag = listed(stub).etag
    with pytest.raises(grpc.RpcError) as err:
        store(stub, entry(alias, tier=models_pb2.MODEL_TIER_MEDIUM, routing_cost=3.0))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert err.value.details() == (
        f"model {alias!r} is already registered with a different entry (nvidia_nim/test/{alias}, "
        "tier fast; tier, routing_cost differ): register the new definition under another alias"
    )
    assert listed(stub, etag).unchanged


def test_replicas_registering_one_alias_at_once_store_it_once(stub):
    alias = unique("race")
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: store(stub, entry(alias)), range(8)))
    assert sum(r.created for r in replies) == 1
    assert len({r.registered.registered_at.ToMicroseconds() for r in replies}) == 1
    assert [m.model.alias for m in listed(stub).models].count(alias) == 1


KEY = "nvapi-SECRET-do-not-store-1234"
BAD_ENTRIES = [
    ({"alias": ""}, "model.alias is empty; name the model (e.g. llama-3.3)"),
    (
        {"alias": " padded"},
        "model.alias must have no spaces around it and at most 200 characters",
    ),
    ({"alias": "a" * 201}, "model.alias must have no spaces around it and at most 200 characters"),
    (
        {"litellm_model": "no-provider"},
        "model.litellm_model 'no-provider' is not a litellm model string ('<provider>/<model "
        "id>', e.g. nvidia_nim/meta/llama-3.3-70b-instruct)",
    ),
    (
        {"tier": models_pb2.MODEL_TIER_UNSPECIFIED},
        "model.tier is required: MODEL_TIER_FAST, MODEL_TIER_MEDIUM or MODEL_TIER_THINKING",
    ),
    ({"routing_cost": -1.0}, "model.routing_cost must be a number, 0 or more; got -1.0"),
    (
        {"output_cost_per_mtok": float("nan")},
        "model.output_cost_per_mtok must be a number, 0 or more; got nan",
    ),
    (
        {"api_key_env": KEY},
        "model.api_key_env must name the environment variable that holds the key (capital "
        "letters, digits and _, at most 128, e.g. NVIDIA_API_KEY), never the key itself",
    ),
    (
        {"api_key_env": "ghp_" + "x" * 36},
        "model.api_key_env must name the environment variable that holds the key",
    ),
    (
        {"api_base": f"https://user:{KEY}@nim.example/v1"},
        "model.api_base must not carry credentials (user:password@ or a query string); the key "
        "goes in the variable api_key_env names",
    ),
    (
        {"api_base": f"https://nim.example/v1?api_key={KEY}"},
        "model.api_base must not carry credentials",
    ),
    ({"api_base": "nim.example/v1"}, "model.api_base must be an http:// or https:// URL"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_ENTRIES)
def test_an_entry_that_is_incomplete_or_holds_a_key_is_refused_unrepeated(stub, fields, message):
    info = entry(unique("bad"))
    for name, value in fields.items():
        setattr(info, name, value)
    with pytest.raises(grpc.RpcError) as err:
        store(stub, info)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(message)
    assert "SECRET" not in err.value.details() and "xxxx" not in err.value.details()
    assert info.alias not in [m.model.alias for m in listed(stub).models]


def test_a_store_without_an_entry_is_refused(stub):
    with pytest.raises(grpc.RpcError) as err:
        stub.StoreRegisteredModel(learning_pb2.StoreRegisteredModelRequest(), timeout=TIMEOUT)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "model is required: the registry entry to keep"


# -- two ensemble replicas on one learning ------------------------------------------------------
@pytest.fixture(scope="module")
def fake():
    server = FakeOpenAI(default=Step(text="Answer: YES")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def replicas(learning, fake, tmp_path_factory):
    """Replica a asks learning only at start and when a request names an unknown alias (its
    poll is 300 s); replica b polls every 0.3 s."""
    root = tmp_path_factory.mktemp("replicas")

    def ensemble(name: str, poll_s: str) -> ServiceProcess:
        return start_ensemble(
            root / name,
            fake,
            FREESCALING_ENSEMBLE_LEARNING_ADDR=learning.address,
            FREESCALING_ENSEMBLE_REGISTRY_POLL_S=poll_s,
        )

    started = {"a": ensemble("a", "300"), "b": ensemble("b", "0.3"), "start": ensemble}
    yield started
    for name in ("a", "b", "c"):
        if name in started:
            assert started[name].stop() == 0, started[name].log_text()[-3000:]
            assert FAKE_KEY not in started[name].log_text()


def ens(process: ServiceProcess) -> ensemble_pb2_grpc.EnsembleStub:
    return ensemble_pb2_grpc.EnsembleStub(process.channel())


def register(process: ServiceProcess, info: models_pb2.ModelInfo) -> models_pb2.ModelInfo:
    return ens(process).RegisterModel(ensemble_pb2.RegisterModelRequest(model=info), timeout=15)


def aliases(process: ServiceProcess) -> list[str]:
    reply = ens(process).ListModels(models_pb2.ListModelsRequest(), timeout=TIMEOUT)
    return [m.alias for m in reply.models]


def ask(process: ServiceProcess, alias: str) -> voting_pb2.ScaleResult:
    return ens(process).Scale(
        ensemble_pb2.ScaleRequest(
            question="Is water wet?",
            answer_patterns=["YES", "NO"],
            models=[alias],
            no_shadow=True,
        ),
        timeout=15,
    )


def test_a_model_registered_through_one_replica_is_used_by_the_other_after_its_poll(
    replicas, learning, stub, fake
):
    a, b = replicas["a"], replicas["b"]
    alias = unique("onboarded")
    given = models_pb2.ModelInfo(
        alias=alias,
        litellm_model=f"nvidia_nim/test/{alias}",
        tier=FAST,
        api_key_env="NVIDIA_API_KEY",
    )
    added = register(a, given)
    assert added.alias == alias and added.routing_cost == 1.0
    # Learning keeps the entry as given, the tier's routing cost resolved (each replica applies
    # its own API base override).
    kept = {m.model.alias: m.model for m in listed(stub).models}
    assert kept[alias].routing_cost == 1.0 and kept[alias].api_base == ""
    assert kept[alias].api_key_env == "NVIDIA_API_KEY"

    wait_for(lambda: alias in aliases(b), timeout=15, what=f"b to load {alias}")
    result = ask(b, alias)
    assert result.answer == "YES" and [v.model for v in result.votes] == [alias]
    assert fake.requests_for(f"test/{alias}")
    assert any(
        f"registered models from learning ({learning.address}): added {alias}" in r["message"]
        for r in b.log_records()
    )
    info = ens(b).GetInfo(info_pb2.GetInfoRequest(), timeout=TIMEOUT)
    assert info.settings["registered_in"].startswith(f"learning ({learning.address}), etag ")
    assert int(info.settings["registered_models"]) >= 1


def test_a_request_naming_an_alias_registered_elsewhere_is_served_at_once(replicas):
    a, b = replicas["a"], replicas["b"]
    alias = unique("fresh")
    register(b, entry(alias))
    # a polls every 300 s: it asks learning because the request names an alias it lacks.
    result = ask(a, alias)
    assert result.answer == "YES" and [v.model for v in result.votes] == [alias]
    assert alias in aliases(a)
    with pytest.raises(grpc.RpcError) as err:
        ask(a, "nobody-registered-this")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert err.value.details() == (
        "unknown model 'nobody-registered-this'; ListModels shows the registry's aliases"
    )


def test_a_conflicting_registration_is_refused_through_every_replica(replicas):
    a, b = replicas["a"], replicas["b"]
    alias = unique("taken")
    register(a, entry(alias))
    with pytest.raises(grpc.RpcError) as err:
        register(b, entry(alias, tier=models_pb2.MODEL_TIER_MEDIUM, routing_cost=3.0))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert err.value.details().startswith(
        f"model {alias!r} is already registered with a different entry"
    )
    # The same entry again is fine through either replica.
    assert register(b, entry(alias)).alias == alias


def test_the_registry_file_wins_over_a_registration_and_a_learning_entry(replicas, stub):
    a, b = replicas["a"], replicas["b"]
    with pytest.raises(grpc.RpcError) as err:
        register(a, entry("f1", litellm_model="nvidia_nim/test/elsewhere"))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "model 'f1' is defined by the registry file " in err.value.details()
    # The file's own definition is accepted as it is, and not kept in learning.
    same = entry("f1", input_cost_per_mtok=2.0, output_cost_per_mtok=10.0)
    assert register(a, same).litellm_model == "nvidia_nim/test/f1"
    assert "f1" not in [m.model.alias for m in listed(stub).models]

    # An entry put in learning under an alias the file defines is not used by the replicas.
    store(stub, entry("f2", litellm_model="nvidia_nim/test/impostor"))
    warning = "learning's registered model 'f2' is not used: the registry file "
    wait_for(
        lambda: any(warning in r["message"] for r in b.log_records()),
        timeout=15,
        what="b to refuse learning's f2",
    )
    models = ens(b).ListModels(models_pb2.ListModelsRequest(), timeout=TIMEOUT).models
    assert {m.alias: m.litellm_model for m in models}["f2"] == "nvidia_nim/test/f2"


def test_registered_models_survive_a_restart_and_are_loaded_before_ready(replicas):
    a = replicas["a"]
    alias = unique("kept")
    register(a, entry(alias))
    before = aliases(a)
    assert a.stop() == 0
    # Its poll is 300 s: what it lists on turning ready it loaded at start.
    replicas["a"] = a = replicas["start"]("a", "300")
    assert aliases(a) == before
    assert ask(a, alias).answer == "YES"


def test_learning_s_list_is_the_truth_even_for_rows_edited_by_hand(replicas, database_url):
    """No RPC changes or removes an entry; an operator may, in the database. The etag covers
    every row, so the replicas follow."""
    b = replicas["b"]
    changed, removed = unique("edited"), unique("dropped")
    for alias in (changed, removed):
        register(b, entry(alias))
    wait_for(lambda: {changed, removed} <= set(aliases(b)), timeout=15, what="b to load both")
    db = Database(database_url)
    try:
        with db.engine.begin() as conn:
            table = registered_models
            conn.execute(table.update().where(table.c.alias == changed).values(routing_cost=2.5))
            conn.execute(table.delete().where(table.c.alias == removed))
    finally:
        db.close()
    line = f"changed {changed}; removed {removed}"
    wait_for(
        lambda: any(line in r["message"] for r in b.log_records()),
        timeout=15,
        what="b to follow the edit",
    )
    models = {m.alias: m for m in ens(b).ListModels(models_pb2.ListModelsRequest()).models}
    assert removed not in models and models[changed].routing_cost == 2.5


def test_without_learning_replicas_serve_what_they_have_and_refuse_registrations(
    replicas, learning
):
    a, b = replicas["a"], replicas["b"]
    alias = unique("before")
    register(a, entry(alias))
    wait_for(lambda: alias in aliases(b), timeout=15, what=f"b to load {alias}")
    address = learning.address
    assert learning.stop() == 0
    try:
        assert ask(a, alias).answer == "YES"
        # Registering again what a holds from learning needs no learning.
        assert register(a, entry(alias)).alias == alias
        late = unique("late")
        with pytest.raises(grpc.RpcError) as err:
            register(a, entry(late))
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        details = err.value.details()
        assert details.startswith(
            f"the learning service ({address}, FREESCALING_ENSEMBLE_LEARNING_ADDR) could not "
            "store the model: UNAVAILABLE: "
        )
        assert details.endswith(f"; {late} is not registered: retry once learning answers")
        assert late not in aliases(a)
        # NOT_FOUND says why a registered model may be missing.
        with pytest.raises(grpc.RpcError) as err:
            ask(a, late)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert err.value.details().startswith(
            f"unknown model {late!r}; ListModels shows the registry's aliases (models registered "
            f"at run time may be missing here: the learning service ({address}, "
        )
        # b's polls fail; it keeps its models and says so.
        wait_for(
            lambda: (
                "could not list the registered models"
                in ens(b)
                .GetInfo(info_pb2.GetInfoRequest(), timeout=TIMEOUT)
                .settings["registered_in"]
            ),
            timeout=15,
            what="b to notice learning is down",
        )
        assert alias in aliases(b)
        # A replica starting meanwhile turns ready with the registry file's models.
        replicas["c"] = c = replicas["start"]("c", "0.3")
        assert "f1" in aliases(c) and alias not in aliases(c)
    finally:
        back = ServiceProcess(
            "learning", learning.workdir, env=learning.env, port=learning.port
        ).start()
        back.wait_serving(timeout=60).wait_ready()
    try:
        # Once learning answers again, the replica that started without it catches up.
        wait_for(lambda: alias in aliases(c), timeout=20, what="c to load learning's models")

        def registered_again() -> bool:
            try:
                return register(a, entry(late)).alias == late
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc.details()
                return False

        wait_for(registered_again, timeout=20, what="a to register through learning again")
    finally:
        assert back.stop() == 0
