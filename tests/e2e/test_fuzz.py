"""Fuzzing every public door of the running system (bounded, deterministic: hypothesis and
schemathesis derandomized, so a run cannot flake): every gRPC method of the gateway and of the
three internal services gets requests generated from its descriptor, and the HTTP API gets
schemathesis cases from its own /openapi.json. Pass: no INTERNAL or UNKNOWN, no HTTP 5xx but a
documented 503/504, every service alive and ready afterwards, and neither the API key nor the
provider key in any answer or log. bench/fuzz.py runs the same for longer."""

from __future__ import annotations

import pytest
from google.protobuf import timestamp_pb2

from freescaling.classifier.v1 import classifier_pb2
from freescaling.common.v1 import records_pb2
from freescaling.ensemble.v1 import ensemble_pb2
from freescaling.gateway.v1 import gateway_pb2
from freescaling.learning.v1 import learning_pb2
from tests.e2e.conftest import FAKE_KEY, System
from tests.support import fuzz

API_KEY = "fs-fuzz-0f1e2d3c4b5a-never-echoed"
SECRETS = [API_KEY, FAKE_KEY]
DESCRIPTORS = {
    "gateway": gateway_pb2.DESCRIPTOR,
    "classifier": classifier_pb2.DESCRIPTOR,
    "ensemble": ensemble_pb2.DESCRIPTOR,
    "learning": learning_pb2.DESCRIPTOR,
}
# Generated requests per gRPC method (plus one with bad UTF-8), and schemathesis cases per
# HTTP operation and mode (schema-valid, then not): a few hundred of each in all.
GRPC_EXAMPLES = 4
HTTP_EXAMPLES = 15


@pytest.fixture(scope="module")
def system(tmp_path_factory, fake, classifier_checkpoint):
    running = System(tmp_path_factory.mktemp("fuzz"), fake).start(
        FREESCALING_GATEWAY_API_KEYS=API_KEY
    )
    yield running
    running.stop()


def _services(system: System):
    return {
        "gateway": system.gateway,
        "classifier": system.classifier,
        "ensemble": system.ensemble,
        "learning": system.learning,
    }


def _still_well(system: System) -> None:
    for name, process in _services(system).items():
        assert process.process.poll() is None, f"{name} exited:\n{process.log_text()[-3000:]}"
        assert process.health("") == "SERVING", name
        process.wait_ready(timeout=30)
        log = process.log_text()
        for secret in SECRETS:
            assert secret not in log, f"{name}'s log holds a key"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("service", sorted(DESCRIPTORS))
def test_every_grpc_method_takes_generated_requests(system, service):
    process = _services(system)[service]
    metadata = (("authorization", f"Bearer {API_KEY}"),) if service == "gateway" else ()
    tally = fuzz.Tally()
    found = fuzz.methods([DESCRIPTORS[service]])
    assert found, service
    for method in found:
        tally.merge(
            fuzz.fuzz_grpc(
                process.channel(), method, GRPC_EXAMPLES, metadata=metadata, secrets=SECRETS
            )
        )
    print(f"{service}: {len(found)} methods, {tally.cases} cases, {dict(tally.outcomes)}")
    assert tally.cases >= len(found) * 2
    assert not tally.failures, "\n".join(tally.failures[:20])
    _still_well(system)


@pytest.mark.timeout(300)
def test_the_http_api_takes_schemathesis_cases_from_its_openapi_document(system):
    tally = fuzz.fuzz_http(
        system.gateway.http_url(),
        HTTP_EXAMPLES,
        headers={"Authorization": f"Bearer {API_KEY}"},
        secrets=SECRETS,
    )
    print(f"http: {tally.cases} cases, {dict(tally.outcomes)}")
    assert tally.cases >= 100
    assert not tally.failures, "\n".join(tally.failures[:20])
    _still_well(system)


def test_what_fuzzing_found_stays_fixed(system):
    """The fuzz run's findings, as plain cases: a string field that is not UTF-8 was UNKNOWN
    (grpc's answer to a deserializer's exception, with its text), a timestamp out of range
    (negative nanos, year 10000) INTERNAL; both are the caller's mistake."""
    learning = system.learning.channel()
    method = fuzz.Method("freescaling.learning.v1.Learning", "GetStats", None, False, False)
    stats = records_pb2.StatsRequest(until=timestamp_pb2.Timestamp(seconds=1, nanos=-1))
    outcome, details = fuzz.call_raw(learning, method, stats.SerializeToString(), (), 10)
    assert outcome == "INVALID_ARGUMENT" and b"until is not a valid timestamp" in details, details
    listing = fuzz.Method("freescaling.learning.v1.Learning", "ListCalls", None, False, False)
    raw = fuzz.bad_utf8(records_pb2.ListCallsRequest.DESCRIPTOR)
    assert raw is not None
    outcome, details = fuzz.call_raw(learning, listing, raw, (), 10)
    assert outcome == "INVALID_ARGUMENT" and b"UTF-8" in details, details
