"""The contracts are the source of truth: every element documented, packages versioned by
service, generated code current, and requests the gateway passes through shared, not copied."""

from __future__ import annotations

import importlib.resources
import subprocess
import sys

import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

from tests.support.processes import ROOT

PROTO_ROOT = ROOT / "protos"
SERVICES = {
    "classifier": "Classifier",
    "ensemble": "Ensemble",
    "learning": "Learning",
    "gateway": "Gateway",
}

# FileDescriptorProto field numbers, as used in SourceCodeInfo paths.
MESSAGE, ENUM, SERVICE = 4, 5, 6
MSG_FIELD, MSG_NESTED, MSG_ENUM, MSG_ONEOF = 2, 3, 4, 8
ENUM_VALUE, METHOD = 2, 2


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[descriptor_pb2.FileDescriptorProto]:
    out = tmp_path_factory.mktemp("descriptors") / "all.pb"
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    code = protoc.main(
        [
            "protoc",
            f"--proto_path={PROTO_ROOT}",
            f"--proto_path={well_known}",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *protos,
        ]
    )
    assert code == 0
    return list(descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file)


def _elements(fd: descriptor_pb2.FileDescriptorProto):
    """(path, readable name) of every message, field, oneof, enum, value, service and method."""

    def enum(path, e, prefix):
        yield path, f"{prefix}{e.name}"
        for i, v in enumerate(e.value):
            yield (*path, ENUM_VALUE, i), f"{prefix}{e.name}.{v.name}"

    def message(path, m, prefix):
        name = f"{prefix}{m.name}"
        yield path, name
        for i, f in enumerate(m.field):
            yield (*path, MSG_FIELD, i), f"{name}.{f.name}"
        for i, o in enumerate(m.oneof_decl):
            if not o.name.startswith("_"):  # synthetic oneofs of `optional` fields
                yield (*path, MSG_ONEOF, i), f"{name}.{o.name}"
        for i, n in enumerate(m.nested_type):
            if n.options.map_entry:  # synthetic entries of map<,> fields
                continue
            yield from message((*path, MSG_NESTED, i), n, f"{name}.")
        for i, e in enumerate(m.enum_type):
            yield from enum((*path, MSG_ENUM, i), e, f"{name}.")

    for i, m in enumerate(fd.message_type):
        yield from message((MESSAGE, i), m, "")
    for i, e in enumerate(fd.enum_type):
        yield from enum((ENUM, i), e, "")
    for i, s in enumerate(fd.service):
        yield (SERVICE, i), s.name
        for j, rpc in enumerate(s.method):
            yield (SERVICE, i, METHOD, j), f"{s.name}.{rpc.name}"


def test_every_message_field_enum_service_and_rpc_is_documented(files):
    undocumented = []
    for fd in files:
        documented = {
            tuple(loc.path) for loc in fd.source_code_info.location if loc.leading_comments.strip()
        }
        undocumented += [
            f"{fd.name}: {name}" for path, name in _elements(fd) if path not in documented
        ]
    assert undocumented == []


def test_packages_are_versioned_per_service_and_match_their_folders(files):
    for fd in files:
        folder = fd.name.rsplit("/", 1)[0]
        assert fd.package == folder.replace("/", "."), fd.name
        assert fd.package.startswith("freescaling.") and fd.package.endswith(".v1")
    services = {(fd.package, s.name) for fd in files for s in fd.service}
    assert services == {(f"freescaling.{k}.v1", v) for k, v in SERVICES.items()}


def test_field_numbers_are_never_reused_within_a_message(files):
    for fd in files:
        for m in fd.message_type:
            numbers = [f.number for f in m.field]
            assert len(numbers) == len(set(numbers)), f"{fd.name}: {m.name}"


def test_gateway_passes_shared_requests_through_unchanged():
    from freescaling.gateway.v1 import gateway_pb2
    from freescaling.learning.v1 import learning_pb2

    gateway = gateway_pb2.DESCRIPTOR.services_by_name["Gateway"].methods_by_name
    learning = learning_pb2.DESCRIPTOR.services_by_name["Learning"].methods_by_name
    for public, internal in [
        ("Feedback", "SubmitFeedback"),
        ("Rankings", "GetRankings"),
        ("Evolve", "Evolve"),
        ("Stats", "GetStats"),
        ("ListCalls", "ListCalls"),
    ]:
        assert gateway[public].input_type is learning[internal].input_type
        assert gateway[public].output_type is learning[internal].output_type


def test_generated_code_is_current():
    done = subprocess.run(
        [sys.executable, "tools/gen_protos.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
