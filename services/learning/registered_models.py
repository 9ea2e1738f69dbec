"""Models registered at run time, kept for every ensemble replica: the ensemble that receives
RegisterModel stores the entry here first, and every replica lists the entries at start and
then periodically (the list travels only when its etag changed), so that a model onboarded
through one replica is usable through all of them and survives their restarts.

An alias is registered once: the same entry again changes nothing, a different one is refused
(ALREADY_EXISTS), so that a replica never answers for an alias with another model than its
peers. An entry holds the name of the variable with the key, never a key."""

from __future__ import annotations

import hashlib
import json
import math

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from freescaling.common.v1 import models_pb2
from freescaling.learning.v1 import learning_pb2
from services.common.entry_secrets import api_base_problem, api_key_env_problem
from services.learning import ratings
from services.learning.db import Database
from services.learning.errors import AlreadyExists, InvalidInput
from services.learning.schema import registered_models

TIERS = {
    models_pb2.MODEL_TIER_FAST: "fast",
    models_pb2.MODEL_TIER_MEDIUM: "medium",
    models_pb2.MODEL_TIER_THINKING: "thinking",
}
TIER_ENUMS = {v: k for k, v in TIERS.items()}
# What makes an entry (the alias names it; registered_us is when).
FIELDS = (
    "litellm_model",
    "tier",
    "input_cost_per_mtok",
    "output_cost_per_mtok",
    "routing_cost",
    "thinking",
    "api_base",
    "api_key_env",
)
_LIMITS = {"alias": 200, "litellm_model": 400, "api_base": 2000}


def _entry(info: models_pb2.ModelInfo) -> dict:
    """The table row for `info` (without registered_us); InvalidInput says what is wrong,
    never repeating a value that may be a key."""
    alias = info.alias
    if not alias.strip():
        raise InvalidInput("model.alias is empty; name the model (e.g. llama-3.3)")
    if alias != alias.strip() or len(alias) > _LIMITS["alias"]:
        raise InvalidInput(
            f"model.alias must have no spaces around it and at most {_LIMITS['alias']} characters"
        )
    provider, _, model_id = info.litellm_model.partition("/")
    if not provider or not model_id or len(info.litellm_model) > _LIMITS["litellm_model"]:
        raise InvalidInput(
            f"model.litellm_model {info.litellm_model[:100]!r} is not a litellm model string "
            "('<provider>/<model id>', e.g. nvidia_nim/meta/llama-3.3-70b-instruct)"
        )
    tier = TIERS.get(info.tier)
    if tier is None:
        raise InvalidInput(
            "model.tier is required: MODEL_TIER_FAST, MODEL_TIER_MEDIUM or MODEL_TIER_THINKING"
        )
    for name in ("input_cost_per_mtok", "output_cost_per_mtok", "routing_cost"):
        value = getattr(info, name)
        if not math.isfinite(value) or value < 0:
            raise InvalidInput(f"model.{name} must be a number, 0 or more; got {value!r}")
    problem = api_key_env_problem(info.api_key_env) or api_base_problem(info.api_base)
    if problem is None and len(info.api_base) > _LIMITS["api_base"]:
        problem = f"api_base has more than {_LIMITS['api_base']} characters"
    if problem:
        raise InvalidInput(f"model.{problem}")
    return {
        "alias": alias,
        "litellm_model": info.litellm_model,
        "tier": tier,
        "input_cost_per_mtok": info.input_cost_per_mtok,
        "output_cost_per_mtok": info.output_cost_per_mtok,
        "routing_cost": info.routing_cost,
        "thinking": info.thinking,
        "api_base": info.api_base,
        "api_key_env": info.api_key_env,
    }


def _registered(row) -> learning_pb2.RegisteredModel:
    return learning_pb2.RegisteredModel(
        model=models_pb2.ModelInfo(
            alias=row.alias,
            litellm_model=row.litellm_model,
            tier=TIER_ENUMS.get(row.tier, models_pb2.MODEL_TIER_UNSPECIFIED),
            input_cost_per_mtok=row.input_cost_per_mtok,
            output_cost_per_mtok=row.output_cost_per_mtok,
            routing_cost=row.routing_cost,
            thinking=row.thinking,
            api_base=row.api_base,
            api_key_env=row.api_key_env,
            provider=row.litellm_model.split("/", 1)[0],
        ),
        registered_at=ratings.timestamp(row.registered_us),
    )


def _all(conn: Connection) -> list:
    return conn.execute(
        sa.select(registered_models).order_by(
            registered_models.c.registered_us, registered_models.c.alias
        )
    ).all()


def _etag(rows) -> str:
    """A digest of every entry as stored, in order: any added, changed or removed row (even one
    edited in the database by hand) changes it."""
    digest = hashlib.sha256()
    for row in rows:
        values = [row.alias, *(getattr(row, f) for f in FIELDS), row.registered_us]
        digest.update(json.dumps(values, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def store(
    db: Database, request: learning_pb2.StoreRegisteredModelRequest
) -> learning_pb2.StoreRegisteredModelResponse:
    if not request.HasField("model"):
        raise InvalidInput("model is required: the registry entry to keep")
    entry = _entry(request.model)

    def work(conn: Connection) -> learning_pb2.StoreRegisteredModelResponse:
        # ON CONFLICT DO NOTHING: of two replicas registering one alias at once, one inserts
        # and the other (on PostgreSQL, after waiting for the first to commit) finds its row.
        # RETURNING says whether it inserted (psycopg's rowcount is -1 for this statement).
        inserted = (
            conn.execute(
                ratings.insert_ignore(conn, registered_models)
                .values(**entry, registered_us=ratings.now_us())
                .returning(registered_models.c.alias)
            ).first()
            is not None
        )
        rows = _all(conn)
        (row,) = [r for r in rows if r.alias == entry["alias"]]
        if not inserted:
            differ = [f for f in FIELDS if getattr(row, f) != entry[f]]
            if differ:
                raise AlreadyExists(
                    f"model {row.alias!r} is already registered with a different entry "
                    f"({row.litellm_model}, tier {row.tier}; {', '.join(differ)} differ): "
                    "register the new definition under another alias"
                )
        return learning_pb2.StoreRegisteredModelResponse(
            registered=_registered(row), created=inserted, etag=_etag(rows)
        )

    return db.write(work)


def list_models(
    db: Database, request: learning_pb2.ListRegisteredModelsRequest
) -> learning_pb2.ListRegisteredModelsResponse:
    rows = db.read(_all)
    etag = _etag(rows)
    if request.known_etag == etag:
        return learning_pb2.ListRegisteredModelsResponse(etag=etag, unchanged=True)
    return learning_pb2.ListRegisteredModelsResponse(
        etag=etag, models=[_registered(r) for r in rows]
    )
