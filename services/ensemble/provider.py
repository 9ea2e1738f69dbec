"""Provider calls through litellm: one model, one request, with the key from the entry's
environment variable, a deadline, the client-side rate limiter, and one retry loop (ours: 429
backs off honouring Retry-After, and a transient HTTP 500/502/503/504 is tried again after a
short pause, each while the deadline allows and a stream has sent nothing; litellm's own
retries are off).

Failures become ProviderError with a kind the callers act on: `dead` (404/410: the model is gone),
`auth` (401/403: names the key's variable), `config` (no key set), `rate_limited`, `timeout`,
`error`. No message ever carries a key: each is scrubbed of the key's value before it leaves.

No provider call waits on a download. litellm fetches a model price map from the internet at
import, and a Hugging Face tokenizer the first time it counts a streamed answer's tokens (its
hub client retries for minutes where the internet is unreachable, on the event loop); clusters
are often air-gapped, and prices and usage come from our registry and the provider's answer.
So, unless the environment says otherwise, `LITELLM_OFFLINE_MODE` and
`LITELLM_LOCAL_MODEL_COST_MAP` are set (its bundled copies) and its tokenizer downloads are off
(its bundled tiktoken counts instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from services.ensemble.keys import NIM_KEY_ENVS, Credentials
from services.ensemble.ratelimit import RateLimited, RateLimiter
from services.ensemble.registry import Model

os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
try:
    import litellm
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("the ensemble service needs litellm: pip install '.[ensemble]'") from exc

import openai  # litellm's dependency, imported after the cost-map setting above
from prometheus_client import Counter

# Offline (the default above): no tokenizer from the hub, ever; an operator who sets
# LITELLM_OFFLINE_MODE=false gets litellm's own behaviour back.
if os.environ["LITELLM_OFFLINE_MODE"].strip().lower() == "true":
    litellm.disable_hf_tokenizer_download = True
# litellm prints a "Give Feedback / Get Help" banner on every exception; our errors say enough.
litellm.suppress_debug_info = True
# litellm logs every call at INFO on its own handlers; that is noise (and CPU) per model call.
for _name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
    logging.getLogger(_name).setLevel(logging.WARNING)

logger = logging.getLogger(__name__)

__all__ = ["NIM_API_BASE", "NIM_KEY_ENVS", "Provider", "ProviderError", "Reply", "StreamEvent"]

NIM_API_BASE = "https://integrate.api.nvidia.com/v1"
# Providers litellm drives through the OpenAI SDK, for which we hand it our own client.
_OPENAI_COMPATIBLE = {"nvidia_nim": NIM_API_BASE, "openai": "https://api.openai.com/v1"}
# Back-off for a 429 without Retry-After: doubles per attempt from this.
_BASE_BACKOFF_S = 1.0
# A provider's own failures that the next request may not meet (an overloaded or restarting
# server, a gateway in front of it timing out): tried again after this pause, doubling.
TRANSIENT_STATUSES = (500, 502, 503, 504)
_TRANSIENT_BACKOFF_S = 0.25
_MAX_ERROR_CHARS = 300


class _NoRetryClient(openai.AsyncOpenAI):
    """An OpenAI SDK client that never retries by itself. litellm drops `max_retries=0` on its
    OpenAI-compatible path (measured with litellm 1.106: a 429 was retried twice, honouring a
    Retry-After past our deadline), so the SDK's retry count is pinned here instead."""

    @property
    def max_retries(self) -> int:
        return 0

    @max_retries.setter
    def max_retries(self, value: int) -> None:
        pass


MODEL_CALLS = Counter(
    "freescaling_model_calls",
    "Provider calls by model and outcome (ok, cancelled, or the error kind: dead, timeout, "
    "rate_limited, auth, error...)",
    ["model", "outcome"],
)


class ProviderError(Exception):
    """A model call failed; `kind` is dead, auth, config, rate_limited, timeout or error."""

    def __init__(self, kind: str, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status

    @property
    def message(self) -> str:
        return str(self)


@dataclass
class Reply:
    text: str
    reasoning: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    latency_s: float = 0.0


@dataclass
class StreamEvent:
    """One piece of a streamed completion: text, reasoning, or the end (`done`)."""

    delta: str = ""
    reasoning: str = ""
    done: bool = False
    finish_reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


def api_base_of(model: Model) -> str:
    """Where `model`'s calls go: its API base, or its provider's default (empty: litellm's)."""
    return (model.api_base or _OPENAI_COMPATIBLE.get(model.provider, "")).rstrip("/")


@dataclass
class Provider:
    limiter: RateLimiter
    retry_429_attempts: int = 4
    retry_5xx_attempts: int = 2
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: object = time.monotonic
    # The API bases the client-side limiter models (NIM's free tier); calls elsewhere (a local
    # server, another provider) are not paced by it.
    limited_bases: tuple[str, ...] = (NIM_API_BASE,)
    # False: no key is required, a call without one goes keyless (a local server).
    require_keys: bool = True
    _clients: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.credentials = Credentials(self.require_keys, self.environ)
        self.limited_bases = tuple(b.rstrip("/") for b in self.limited_bases)

    def _client(self, model: Model, key: str | None):
        """Our no-retry SDK client for OpenAI-compatible providers (one per API base and key;
        connection pools are shared by every call to it); None lets litellm choose."""
        default_base = _OPENAI_COMPATIBLE.get(model.provider)
        if default_base is None:
            return None
        base = model.api_base or default_base
        client = self._clients.get((base, key))
        if client is None:
            # The SDK insists on a key; a keyless server ignores this placeholder.
            client = _NoRetryClient(base_url=base, api_key=key or "no-key")
            self._clients[(base, key)] = client
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    # -- keys ---------------------------------------------------------------------------------
    def key_for(self, model: Model) -> tuple[str | None, str]:
        """(the key or None, the variable(s) it comes from, for messages)."""
        return self.credentials.key_for(model)

    def limit_key(self, model: Model) -> str | None:
        """The client-side limiter's key for `model`'s calls (its API base and key variable);
        None when the limiter does not model its provider."""
        base = api_base_of(model)
        if self.limiter.rpm <= 0 or base not in self.limited_bases:
            return None
        return f"{base} {model.api_key_env}"

    def limit_wait(self, model: Model) -> float:
        """Seconds a call to `model` starting now would wait for the client-side limiter."""
        key = self.limit_key(model)
        return 0.0 if key is None else self.limiter.wait(key)

    def limit_note(self) -> str:
        return (
            f"the client-side rate limit of {self.limiter.rpm:g} requests a minute per key "
            "(FREESCALING_ENSEMBLE_RATE_LIMIT_RPM)"
        )

    @staticmethod
    def scrub(text: str, key: str | None) -> str:
        if key:
            text = text.replace(key, "[redacted]")
        return text

    def _kwargs(self, model: Model, key: str | None, remaining: float, options: dict) -> dict:
        kwargs = {
            "model": model.litellm_model,
            # Exactly one retry loop decides, ours.
            "max_retries": 0,
            "timeout": max(remaining, 0.001),
            **options,
        }
        if model.api_base:
            kwargs["api_base"] = model.api_base
        if key:
            kwargs["api_key"] = key
        client = self._client(model, key)
        if client is not None:
            kwargs["client"] = client
        return kwargs

    def _classify(self, model: Model, exc: Exception, key: str | None, env: str) -> ProviderError:
        status = getattr(exc, "status_code", 0) or 0
        detail = self.scrub(str(exc), key).replace("\n", " ")[:_MAX_ERROR_CHARS]
        if isinstance(exc, litellm.Timeout):
            return ProviderError("timeout", f"{model.alias}: the provider timed out", 408)
        if status in (404, 410):
            return ProviderError(
                "dead", f"{model.alias}: the model is gone or gated (HTTP {status})", status
            )
        if status in (401, 403):
            if env:
                where = f"check {env}"
            elif model.provider == "github_copilot":
                # litellm will not run Copilot's device-code login inside a server.
                where = (
                    "log in to GitHub Copilot once and point GITHUB_COPILOT_TOKEN_DIR at the tokens"
                )
            else:
                where = "check the provider's credentials"
            return ProviderError(
                "auth",
                f"{model.alias}: the provider refused the API key (HTTP {status}); {where}",
                status,
            )
        if status == 429:
            return ProviderError("rate_limited", f"{model.alias}: rate limited (HTTP 429)", 429)
        if status:
            return ProviderError("error", f"{model.alias}: HTTP {status}: {detail}", status)
        return ProviderError("error", f"{model.alias}: {type(exc).__name__}: {detail}")

    @staticmethod
    def _retry_after(exc: Exception, attempt: int) -> float:
        headers = getattr(exc, "litellm_response_headers", None) or {}
        try:
            raw = headers.get("retry-after")
        except AttributeError:
            raw = None
        if raw:
            try:
                return max(0.0, float(raw))
            except ValueError:
                pass  # an HTTP date: fall back to our own back-off
        return _BASE_BACKOFF_S * (2**attempt)

    async def _start(self, model: Model, deadline: float) -> tuple[str | None, str, float]:
        """(the key, its variable, seconds waited for the client-side limiter)."""
        key, env = self.key_for(model)
        unavailable = self.credentials.unavailable(model)
        if unavailable:
            raise ProviderError("config", f"{model.alias}: {unavailable}")
        limit_key = self.limit_key(model)
        if limit_key is None:
            return key, env, 0.0
        try:
            waited = self.limiter.reserve(limit_key, deadline)
        except RateLimited as exc:
            raise ProviderError(
                "rate_limited",
                f"{model.alias}: waiting for {self.limit_note()}: the next request slot is "
                f"{exc.wait_s:.1f} s away, beyond this call's deadline",
            ) from None
        if waited > 0:
            await asyncio.sleep(waited)
        return key, env, waited

    def _waited(self, waited: float) -> str:
        return f" (after waiting {waited:.1f} s for {self.limit_note()})" if waited >= 0.05 else ""

    # -- calls --------------------------------------------------------------------------------
    async def complete(
        self, model: Model, messages: list[dict], deadline: float, **options
    ) -> Reply:
        """One completion; `deadline` is on `self.clock` (monotonic). Cancelling the caller
        aborts the HTTP request. Counted in freescaling_model_calls_total by outcome."""
        try:
            reply = await self._complete(model, messages, deadline, **options)
        except ProviderError as exc:
            MODEL_CALLS.labels(model.alias, exc.kind).inc()
            raise
        except asyncio.CancelledError:
            MODEL_CALLS.labels(model.alias, "cancelled").inc()
            raise
        MODEL_CALLS.labels(model.alias, "ok").inc()
        return reply

    async def _complete(
        self, model: Model, messages: list[dict], deadline: float, **options
    ) -> Reply:
        started = self.clock()
        tries: dict[str, int] = {}
        while True:
            key, env, waited = await self._start(model, deadline)
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise ProviderError(
                    "timeout", f"{model.alias}: no time left for the call{self._waited(waited)}"
                )
            try:
                async with asyncio.timeout(remaining):
                    response = await litellm.acompletion(
                        messages=messages, **self._kwargs(model, key, remaining, options)
                    )
            except TimeoutError:
                raise ProviderError(
                    "timeout",
                    f"{model.alias}: no answer within {remaining:.1f} s{self._waited(waited)}",
                ) from None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = self._classify(model, exc, key, env)
                await self._back_off(model, error, exc, tries, deadline)
                continue
            return self._reply(response, self.clock() - started)

    async def _back_off(
        self,
        model: Model,
        error: ProviderError,
        exc: Exception,
        tries: dict[str, int],
        deadline: float,
    ) -> None:
        """After a failure: wait out a 429 (Retry-After honoured), or pause after a transient
        5xx, when another attempt is allowed and fits before the deadline; otherwise raise the
        error. `tries` counts the failures of each kind so far in this call. The one retry loop
        of unary and streamed calls alike."""
        if error.kind == "rate_limited":
            kind, limit = "429", self.retry_429_attempts
        elif error.kind == "error" and error.status in TRANSIENT_STATUSES:
            kind, limit = "5xx", self.retry_5xx_attempts
        else:
            raise error from None
        tries[kind] = attempt = tries.get(kind, 0) + 1
        if kind == "429":
            wait = self._retry_after(exc, attempt - 1)
        else:
            wait = _TRANSIENT_BACKOFF_S * 2 ** (attempt - 1)
        late = self.clock() + wait >= deadline
        if attempt >= limit or late:
            raise self._given_up(model, error, kind, attempt, wait, late) from None
        logger.info("%s: HTTP %d, retrying in %.2f s", model.alias, error.status, wait)
        await asyncio.sleep(wait)

    @staticmethod
    def _given_up(
        model: Model, error: ProviderError, kind: str, attempt: int, wait: float, late: bool
    ) -> ProviderError:
        """The error a call ends with once its retries are spent or the next would be late."""
        if kind == "429":
            return ProviderError(
                "rate_limited",
                f"{model.alias}: rate limited (HTTP 429) {attempt} time(s); retrying "
                f"after {wait:.1f} s would pass the call's deadline"
                if late
                else f"{model.alias}: rate limited (HTTP 429) {attempt} times",
                429,
            )
        if attempt == 1:
            return error
        return ProviderError("error", f"{error.message} ({attempt} attempts)", error.status)

    @staticmethod
    def _reply(response, latency_s: float) -> Reply:
        choice = response.choices[0]
        message = choice.message
        usage = getattr(response, "usage", None)
        return Reply(
            text=message.content or "",
            reasoning=getattr(message, "reasoning_content", None) or "",
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            finish_reason=choice.finish_reason or "",
            latency_s=latency_s,
        )

    async def stream(
        self, model: Model, messages: list[dict], deadline: float, **options
    ) -> AsyncIterator[StreamEvent]:
        """A streamed completion; the last event has `done`. Errors are ProviderError like
        `complete`'s; a 429 or a transient 5xx before the first event is retried as `complete`
        does (Retry-After honoured, within the deadline), never once tokens have flowed."""
        tries: dict[str, int] = {}
        while True:
            started = False
            try:
                async for event in self._stream_once(model, messages, deadline, **options):
                    started = True
                    yield event
                return
            except _Failed as failed:
                if started:
                    raise failed.error from None
                await self._back_off(model, failed.error, failed.cause, tries, deadline)

    async def _stream_once(
        self, model: Model, messages: list[dict], deadline: float, **options
    ) -> AsyncIterator[StreamEvent]:
        key, env, waited = await self._start(model, deadline)
        remaining = deadline - self.clock()
        if remaining <= 0:
            raise ProviderError(
                "timeout", f"{model.alias}: no time left for the call{self._waited(waited)}"
            )
        kwargs = self._kwargs(model, key, remaining, options)
        finish, prompt_tokens, completion_tokens = "", 0, 0
        response = None
        try:
            async with asyncio.timeout(remaining):
                response = await litellm.acompletion(
                    messages=messages,
                    stream=True,
                    stream_options={"include_usage": True},
                    **kwargs,
                )
                async for chunk in response:
                    usage = getattr(chunk, "usage", None)
                    if usage:
                        prompt_tokens = usage.prompt_tokens or prompt_tokens
                        completion_tokens = usage.completion_tokens or completion_tokens
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    delta = choice.delta
                    if choice.finish_reason:
                        finish = choice.finish_reason
                    text = getattr(delta, "content", None) or ""
                    reasoning = getattr(delta, "reasoning_content", None) or ""
                    if text or reasoning:
                        yield StreamEvent(delta=text, reasoning=reasoning)
        except TimeoutError:
            raise ProviderError(
                "timeout",
                f"{model.alias}: no complete answer within {remaining:.1f} s{self._waited(waited)}",
            ) from None
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except ProviderError:
            raise
        except Exception as exc:
            raise _Failed(self._classify(model, exc, key, env), exc) from None
        finally:
            # A caller that stops reading (the client went away) must not leave the provider
            # streaming into a connection nobody reads.
            close = getattr(response, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        yield StreamEvent(
            done=True,
            finish_reason=finish or "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )


class _Failed(Exception):
    """A streamed attempt's provider failure, with the exception behind it (for Retry-After)."""

    def __init__(self, error: ProviderError, cause: Exception) -> None:
        super().__init__(error.message)
        self.error, self.cause = error, cause
