"""Fuzzing the public doors, shared by tests/e2e/test_fuzz.py (bounded) and bench/fuzz.py
(longer): every gRPC method of a service gets property-based requests built from its
descriptor (hypothesis: random, boundary and oversized fields, NaN and infinities, negative
numbers, unknown enum values, nested messages, and strings that are not UTF-8 on the wire), and
the HTTP API gets schemathesis cases from its own /openapi.json, schema-valid and not. A run
counts cases by outcome and lists what breaks the pass rule: no INTERNAL or UNKNOWN, no HTTP 5xx
but 503/504 (a downstream down or late), and no secret in any answer."""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field

import grpc
from google.protobuf import descriptor as pb
from google.protobuf import message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

BAD_CODES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
ALLOWED_5XX = {503, 504}
# Health and reflection are the grpc library's, not the project's doors.
SKIP_SERVICES = ("grpc.health.", "grpc.reflection.")
F = pb.FieldDescriptor

_INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
# Strings people and attackers send: empty, blank, control characters, right-to-left, emoji,
# and one far over any sane length (200 KB; the message limit is larger).
_ODD_STRINGS = ["", " ", "\x00", "\n\t", "\u202e", "🅰️", "NaN", "-1", "yes1", "x" * 200_000]


def _scalar(fd: pb.FieldDescriptor) -> st.SearchStrategy:
    if fd.type in _INT_RANGES:
        low, high = _INT_RANGES[fd.type]
        edges = [low, high, 0, -1, 1] if low < 0 else [low, high, 0, 1]
        return st.integers(low, high) | st.sampled_from(edges)
    if fd.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        width = 32 if fd.type == F.TYPE_FLOAT else 64
        return st.floats(width=width) | st.sampled_from(
            [float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e308 if width == 64 else 3e38]
        )
    if fd.type == F.TYPE_BOOL:
        return st.booleans()
    if fd.type == F.TYPE_STRING:
        return st.text(max_size=40) | st.sampled_from(_ODD_STRINGS)
    if fd.type == F.TYPE_BYTES:
        return st.binary(max_size=64)
    if fd.type == F.TYPE_ENUM:
        known = [v.number for v in fd.enum_type.values]
        # Unknown values too: proto3 enums are open, a newer client may send them.
        return st.sampled_from(known) | st.sampled_from([-1, 99, 2**31 - 1])
    raise AssertionError(f"unhandled field type {fd.type} of {fd.full_name}")


def _set(message, fd: pb.FieldDescriptor, value) -> None:
    if fd.type == F.TYPE_MESSAGE:
        getattr(message, fd.name).CopyFrom(value)
    else:
        setattr(message, fd.name, value)


def messages(descriptor: pb.Descriptor, depth: int = 0) -> st.SearchStrategy:
    """Messages of this type: a random subset of fields set, nested messages to depth 4."""
    cls = message_factory.GetMessageClass(descriptor)

    @st.composite
    def build(draw):
        out = cls()
        for fd in descriptor.fields:
            if not draw(st.booleans()):
                continue
            if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
                key_fd, value_fd = fd.message_type.fields
                keys = draw(st.lists(_scalar(key_fd), max_size=2))
                target = getattr(out, fd.name)
                for key in keys:
                    if value_fd.type == F.TYPE_MESSAGE:
                        if depth < 4:
                            target[key].CopyFrom(draw(messages(value_fd.message_type, depth + 1)))
                    else:
                        target[key] = draw(_scalar(value_fd))
                continue
            if fd.type == F.TYPE_MESSAGE:
                if depth >= 4:
                    continue
                element = messages(fd.message_type, depth + 1)
            else:
                element = _scalar(fd)
            if fd.is_repeated:
                getattr(out, fd.name).extend(draw(st.lists(element, max_size=3)))
            else:
                _set(out, fd, draw(element))
        return out

    return build()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def bad_utf8(descriptor: pb.Descriptor) -> bytes | None:
    """A request whose first string field holds bytes that are not UTF-8 (what a client of
    another language can put on the wire); None when the message has no string field."""
    fd = next((f for f in descriptor.fields if f.type == F.TYPE_STRING), None)
    if fd is None:
        return None
    payload = b"\xff\xfe\xc3("
    return _varint(fd.number << 3 | 2) + _varint(len(payload)) + payload


@dataclass
class Method:
    service: str
    name: str
    input: pb.Descriptor
    server_streaming: bool
    client_streaming: bool

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"


def methods(file_descriptors) -> list[Method]:
    found = []
    for file in file_descriptors:
        for service in file.services_by_name.values():
            if service.full_name.startswith(SKIP_SERVICES):
                continue
            for m in service.methods:
                found.append(
                    Method(
                        service.full_name,
                        m.name,
                        m.input_type,
                        m.server_streaming,
                        m.client_streaming,
                    )
                )
    return found


@dataclass
class Tally:
    """Cases run by outcome, and the ones that broke the rule (with what was sent)."""

    cases: int = 0
    outcomes: collections.Counter = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def merge(self, other: Tally) -> None:
        self.cases += other.cases
        self.outcomes.update(other.outcomes)
        self.failures += other.failures
        self.seconds += other.seconds


def _leaks(text: bytes, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s.encode() in text]


def call_raw(
    channel: grpc.Channel, method: Method, payload: bytes, metadata, timeout: float
) -> tuple[str, bytes]:
    """(outcome, everything the server sent back) for one raw request."""
    identity = lambda b: b  # noqa: E731 (bytes in, bytes out: the payload is already encoded)
    try:
        if method.client_streaming:
            if method.server_streaming:
                call = channel.stream_stream(method.path, identity, identity)
            else:
                call = channel.stream_unary(method.path, identity, identity)
            reply = call(iter([payload]), metadata=metadata, timeout=timeout)
            replies = list(reply) if method.server_streaming else [reply]
        elif method.server_streaming:
            call = channel.unary_stream(method.path, identity, identity)
            replies = list(call(payload, metadata=metadata, timeout=timeout))
        else:
            call = channel.unary_unary(method.path, identity, identity)
            replies = [call(payload, metadata=metadata, timeout=timeout)]
        return "OK", b"".join(replies)
    except grpc.RpcError as exc:
        said = f"{exc.details() or ''}".encode()
        said += b"".join(f"{k}={v}".encode() for k, v in exc.trailing_metadata() or ())
        return exc.code().name, said


def fuzz_grpc(
    channel: grpc.Channel,
    method: Method,
    examples: int,
    *,
    metadata=(),
    secrets: list[str] = (),
    timeout: float = 10.0,
) -> Tally:
    """`examples` generated requests (deterministic) and one with bad UTF-8, to one method."""
    tally = Tally()
    started = time.monotonic()

    def judge(payload: bytes, shown: str) -> None:
        outcome, said = call_raw(channel, method, payload, metadata, timeout)
        tally.cases += 1
        tally.outcomes[outcome] += 1
        if outcome in {c.name for c in BAD_CODES}:
            tally.failures.append(f"{method.path} -> {outcome}: {said[:300]!r} for {shown}")
        if leaked := _leaks(said, list(secrets)):
            tally.failures.append(f"{method.path} answered with a secret ({leaked[0][:6]}...)")

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=messages(method.input))
    def run(request) -> None:
        judge(request.SerializeToString(), str(request)[:300])

    run()
    if (raw := bad_utf8(method.input)) is not None:
        judge(raw, "a string field that is not UTF-8")
    tally.seconds = time.monotonic() - started
    return tally


def fuzz_http(
    base_url: str,
    examples: int,
    *,
    headers: dict[str, str] | None = None,
    secrets: list[str] = (),
) -> Tally:
    """schemathesis cases for every operation of the gateway's /openapi.json, positive and
    negative (deterministic). Negative bodies must be refused with a 4xx."""
    import requests
    import schemathesis
    from schemathesis import GenerationMode

    tally = Tally()
    started = time.monotonic()
    document = requests.get(f"{base_url}/openapi.json", headers=headers, timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()

    def check(operation, mode) -> None:
        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:
            try:
                response = case.call(
                    base_url=base_url, session=session, headers=headers, timeout=30
                )
            except requests.RequestException as exc:
                tally.failures.append(f"{operation.label}: no answer ({exc!r:.200})")
                return
            tally.cases += 1
            status = response.status_code
            tally.outcomes[f"{operation.label} {status}"] += 1
            shown = f"{case.path_parameters} {case.query} {str(case.body)[:200]}"
            if status >= 500 and status not in ALLOWED_5XX:
                tally.failures.append(f"{operation.label} -> {status} for {shown}")
            if str(status) not in operation.definition.raw["responses"]:
                tally.failures.append(f"{operation.label}: undocumented {status} for {shown}")
            if leaked := _leaks(response.content, list(secrets)):
                tally.failures.append(f"{operation.label} answered with a secret {leaked[0][:6]}")

        try:
            run()
        except Unsatisfiable:
            # Negative mode for an operation with nothing to negate (no parameters, no body).
            if mode != GenerationMode.NEGATIVE:
                raise

    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            check(result.ok(), mode)
    tally.seconds = time.monotonic() - started
    return tally
