"""Who may call the gateway: optional API keys (`authorization: Bearer <key>`, as gRPC metadata
or an HTTP header) and a per-key limit on concurrent calls, counted over both. Health checks and
reflection stay open, for probes and grpcurl. Keys are kept as SHA-256 digests and compared in
constant time; neither a key nor its digest is ever logged or returned."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import grpc

logger = logging.getLogger(__name__)

# Probes and grpcurl's discovery must work without a key.
OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class KeyFileError(ValueError):
    pass


def read_key_file(path: str) -> dict[str, str]:
    """`name:key` or bare `key` per line; blank lines and `#` comments ignored. -> {key: name}."""
    keys: dict[str, str] = {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise KeyFileError(
            f"cannot read FREESCALING_GATEWAY_API_KEYS_FILE {path}: {exc.strerror}"
        ) from None
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, key = line.rpartition(":")
        if not sep:
            name, key = f"{Path(path).name}:{number}", line
        if not key.strip():
            raise KeyFileError(f"{path} line {number}: empty key")
        keys[key.strip()] = name.strip()
    return keys


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class ApiKeys:
    """The accepted keys, each with a name used in logs and for its concurrency limit."""

    def __init__(self, keys: dict[str, str]) -> None:
        self._by_digest = {_digest(k): name for k, name in keys.items()}

    @classmethod
    def from_settings(cls, inline: Iterable[str], path: str) -> ApiKeys:
        keys = {k: f"key-{i + 1}" for i, k in enumerate(inline)}
        if path:
            keys.update(read_key_file(path))
        return cls(keys)

    def __bool__(self) -> bool:
        return bool(self._by_digest)

    def identify(self, presented: str) -> str | None:
        """The key's name, or None when it is not an accepted key."""
        digest = _digest(presented)
        found = None
        for known, name in self._by_digest.items():
            # Compare against every key, always, so timing says nothing about which matched.
            if hmac.compare_digest(known, digest):
                found = name
        return found


def bearer(metadata) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


class Access:
    """The key check and the per-key count of calls in flight. One instance serves the gRPC
    interceptor and the HTTP API alike, so a key's limit counts its calls over both."""

    def __init__(self, keys: ApiKeys, per_key_limit: int) -> None:
        self.keys, self.per_key_limit = keys, per_key_limit
        self.in_flight: Counter[str] = Counter()

    @property
    def enabled(self) -> bool:
        """False when there is nothing to check: no keys and no per-key limit."""
        return bool(self.keys) or bool(self.per_key_limit)

    def identify(self, token: str | None, carrier: str = "metadata") -> tuple[str, str | None]:
        """The caller's name, and why it is refused (None when it may call). `token` is the
        bearer token sent (None: no authorization at all); `carrier` names where it goes in
        the refusal ("metadata" for gRPC, "header" for HTTP)."""
        if not self.keys:
            return "anonymous", None
        if token is None:
            return "anonymous", (
                f"this gateway requires an API key: send the {carrier} "
                "'authorization: Bearer <your key>'"
            )
        name = self.keys.identify(token) if token else None
        if name is None:
            return "anonymous", (
                "the API key is not valid (expected 'authorization: Bearer <your key>' with "
                "a key the gateway was configured with)"
            )
        return name, None

    def acquire(self, caller: str) -> bool:
        if self.per_key_limit and self.in_flight[caller] >= self.per_key_limit:
            return False
        self.in_flight[caller] += 1
        return True

    def release(self, caller: str) -> None:
        self.in_flight[caller] -= 1
        if not self.in_flight[caller]:
            del self.in_flight[caller]

    def too_many(self) -> str:
        return (
            f"too many concurrent calls for this API key ({self.per_key_limit} at most, "
            "FREESCALING_GATEWAY_KEY_CONCURRENCY); retry when one finishes"
        )


class AccessInterceptor(grpc.aio.ServerInterceptor):
    """Checks the key (when keys are configured) and the key's concurrency (when limited)."""

    def __init__(self, access: Access) -> None:
        self.access = access

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(OPEN_PREFIXES):
            return handler
        caller, refusal = self.access.identify(bearer(details.invocation_metadata))
        return _wrap(
            handler,
            self.access,
            caller,
            (grpc.StatusCode.UNAUTHENTICATED, refusal) if refusal else None,
        )


def _wrap(handler, access: Access, caller: str, refusal) -> grpc.RpcMethodHandler:
    async def admit(context) -> None:
        if refusal:
            logger.warning("refused: %s", refusal[1], extra={"caller": caller})
            await context.abort(*refusal)
        if not access.acquire(caller):
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, access.too_many())

    def unary(behavior):
        async def wrapper(request, context):
            await admit(context)
            try:
                return await behavior(request, context)
            finally:
                access.release(caller)

        return wrapper

    def stream(behavior):
        if not inspect.isasyncgenfunction(behavior):
            return unary(behavior)

        async def wrapper(request, context):
            await admit(context)
            try:
                async for item in behavior(request, context):
                    yield item
            finally:
                access.release(caller)

        return wrapper

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(unary(handler.unary_unary), **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(stream(handler.unary_stream), **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(unary(handler.stream_unary), **kwargs)
    return grpc.stream_stream_rpc_method_handler(stream(handler.stream_stream), **kwargs)
