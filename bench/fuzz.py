"""Fuzzing every public door for longer than the suite does (tests/e2e/test_fuzz.py runs the
same, bounded): every gRPC method of the gateway and the three internal services gets requests
generated from its descriptor by hypothesis, and the HTTP API gets schemathesis cases (valid and
invalid) from its own GET /openapi.json, against the four services as processes (the test
checkpoint, scripted models behind a local OpenAI-compatible server, SQLite), with API keys on.

Pass: no INTERNAL or UNKNOWN, no HTTP 5xx but a documented 503/504, every service alive and
ready afterwards, and neither the API key nor the provider key in any answer or log.

    python bench/fuzz.py [--quick | --smoke]

--quick: under a minute; --smoke: a few cases per door, to show it still runs. Runs are
deterministic (derandomized); the full run generates more cases per method. Prints the cases
by outcome, any failure, and ends with one JSON line; exits 1 when a case broke the rule.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from freescaling.classifier.v1 import classifier_pb2  # noqa: E402
from freescaling.ensemble.v1 import ensemble_pb2  # noqa: E402
from freescaling.gateway.v1 import gateway_pb2  # noqa: E402
from freescaling.learning.v1 import learning_pb2  # noqa: E402
from tests.support import fuzz  # noqa: E402
from tests.support.bench_system import make_checkpoint, make_embedder, report  # noqa: E402
from tests.support.fake_openai import FakeOpenAI, Step  # noqa: E402

API_KEY = "fs-bench-fuzz-7a6b5c4d3e2f-never-echoed"
DESCRIPTORS = {
    "gateway": gateway_pb2.DESCRIPTOR,
    "classifier": classifier_pb2.DESCRIPTOR,
    "ensemble": ensemble_pb2.DESCRIPTOR,
    "learning": learning_pb2.DESCRIPTOR,
}
# (generated requests per gRPC method, schemathesis cases per HTTP operation and mode).
MODES = {"smoke": (1, 3), "quick": (5, 20), "full": (60, 300)}


def _checkpoint(scratch: Path) -> None:
    """The suite's tiny classifier checkpoint and embedder, as tests/conftest.py makes them."""
    os.environ["FREESCALING_CLASSIFIER_MODEL"] = str(make_checkpoint(scratch, "tiny", []))
    os.environ["FREESCALING_CLASSIFIER_EMBEDDER"] = str(make_embedder(scratch))
    os.environ["FREESCALING_CLASSIFIER_CENTROIDS"] = str(scratch / "centroids.safetensors")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="under a minute")
    parser.add_argument("--smoke", action="store_true", help="a few cases: does it still run?")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    grpc_examples, http_examples = MODES[mode]

    # Imported here: the e2e conftest's system is what the suite fuzzes.
    from tests.e2e.conftest import FAKE_KEY, NO, YES, System

    secrets = [API_KEY, FAKE_KEY]
    started = time.monotonic()
    fake = FakeOpenAI(default=YES).start()
    for alias in ("yes1", "yes2", "yes3", "yes4", "yes5", "deep1", "slowyes"):
        fake.script(f"e2e/{alias}", YES)
    for alias in ("no1", "no2"):
        fake.script(f"e2e/{alias}", NO)
    fake.script("e2e/shy1", Step(text="I would rather not say."))
    failures: list[str] = []
    outcomes: collections.Counter = collections.Counter()
    with tempfile.TemporaryDirectory() as scratch:
        _checkpoint(Path(scratch))
        (Path(scratch) / "system").mkdir()
        system = System(Path(scratch) / "system", fake).start(FREESCALING_GATEWAY_API_KEYS=API_KEY)
        processes = {
            "gateway": system.gateway,
            "classifier": system.classifier,
            "ensemble": system.ensemble,
            "learning": system.learning,
        }
        try:
            grpc_tally = fuzz.Tally()
            for name, descriptor in DESCRIPTORS.items():
                auth = (("authorization", f"Bearer {API_KEY}"),) if name == "gateway" else ()
                for method in fuzz.methods([descriptor]):
                    grpc_tally.merge(
                        fuzz.fuzz_grpc(
                            processes[name].channel(),
                            method,
                            grpc_examples,
                            metadata=auth,
                            secrets=secrets,
                        )
                    )
            http_tally = fuzz.fuzz_http(
                system.gateway.http_url(),
                http_examples,
                headers={"Authorization": f"Bearer {API_KEY}"},
                secrets=secrets,
            )
            failures += grpc_tally.failures + http_tally.failures
            outcomes.update({f"grpc {k}": v for k, v in grpc_tally.outcomes.items()})
            outcomes.update(http_tally.outcomes)
            for name, process in processes.items():
                if process.process.poll() is not None:
                    failures.append(f"{name} exited with {process.process.returncode}")
                elif process.health(process.grpc_name) != "SERVING":
                    failures.append(f"{name} is not ready after fuzzing")
                log = process.log_text()
                failures += [f"{name}'s log holds a key" for s in secrets if s in log]
        finally:
            system.stop()
            fake.stop()
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome:48s} {count}")
    for failure in failures[:50]:
        print(f"FAIL {failure}")
    report(
        {
            "benchmark": "fuzz",
            "mode": mode,
            "grpc_methods": sum(len(fuzz.methods([d])) for d in DESCRIPTORS.values()),
            "grpc_cases": grpc_tally.cases,
            "http_cases": http_tally.cases,
            "failures": len(failures),
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
