"""The learning database's tables at the newest migration (SQLAlchemy Core). Times are integer
microseconds since the epoch (UTC) and ratings integer milli-points, so that both databases
store them exactly; migrations in `migrations/versions` create and change these tables."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# An autoincrementing key: BIGINT on PostgreSQL, SQLite's INTEGER rowid alias.
Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# ELO per model alias. Ratings are milli-points: pairwise deltas are integers applied +d/-d, so
# the sum of all ratings is exactly 1500 x models forever.
ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("rating_milli", sa.BigInteger, nullable=False),
    sa.Column("calls", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("wins", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("losses", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("parsed_votes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("agreed_votes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("feedback_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
    # Third revision: `calls` split by how the model's panel vote ended (they sum to `calls`).
    # Evolution counts `answered` only: a model that never answers never qualifies.
    sa.Column("answered", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("abstained", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("failed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cancelled", sa.BigInteger, nullable=False, server_default="0"),
)

# One public call; `record` is the CallRecord as received (serialized protobuf).
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("seq", Serial, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(200), nullable=False, unique=True),
    sa.Column("message_id", sa.String(200), nullable=True),
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("answer", sa.Text, nullable=False, server_default=""),
    sa.Column("outcome", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("model", sa.String(200), nullable=False, server_default=""),
    sa.Column("tier", sa.String(20), nullable=False, server_default=""),
    sa.Column("task_type", sa.String(100), nullable=False, server_default=""),
    sa.Column("complexity", sa.Float, nullable=True),
    sa.Column("cluster_id", sa.Integer, nullable=True),
    sa.Column("routing_method", sa.SmallInteger, nullable=False, server_default="0"),
    # Set for routed calls only (revision 0004).
    sa.Column("routing_latency_ms", sa.Float, nullable=True),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("total_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("latency_s", sa.Float, nullable=False, server_default="0"),
    sa.Column("failed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("record", sa.LargeBinary, nullable=False),
    # Ninth revision, for the dashboard: the vote's confidence (NULL for generate and chat), the
    # tokens of one answer (the saving against always asking the best single model), and the
    # first clause of a failed call's error.
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("answer_prompt_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("answer_completion_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("error_cause", sa.String(80), nullable=False, server_default=""),
    sa.Index("ix_calls_created", "created_us", "seq"),
    sa.Index("ix_calls_message_id", "message_id"),
    sa.Index("ix_calls_error_cause", "error_cause"),
    # Revision 0009: the overview's buckets read this index alone; percentiles walk the second.
    sa.Index(
        "ix_calls_overview",
        "created_us",
        "failed",
        "total_tokens",
        "cost_usd",
        "answer_prompt_tokens",
        "answer_completion_tokens",
        # Revision 0010: Stats' and the overview's totals read it alone too.
        "latency_s",
        "routing_latency_ms",
    ),
    # Revision 0010: with the time and kind, which percentiles over a range filter in it.
    sa.Index("ix_calls_latency", "latency_s", "created_us", "kind"),
    # Revision 0010: the calls of a kind in a range (the calls-by-model figures' scale calls;
    # the model of the others).
    sa.Index("ix_calls_kind", "kind", "created_us", "model", "seq"),
)

# Panel votes and the shadow challenger's answer of a scale call.
votes = sa.Table(
    "votes",
    metadata,
    sa.Column("call_seq", sa.BigInteger, sa.ForeignKey("calls.seq"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("model", sa.String(200), sa.ForeignKey("ratings.model"), nullable=False),
    # "panel" or "shadow".
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("parsed_answer", sa.Text, nullable=False, server_default=""),
    sa.Column("abstained", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    sa.Column("latency_s", sa.Float, nullable=False, server_default="0"),
    sa.Column("total_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    # Ninth revision: the first clause of `error`, which the dashboard groups failures by.
    sa.Column("error_cause", sa.String(80), nullable=False, server_default=""),
    # Tenth revision: the vote failed (its error is not empty), which the covering index below
    # holds where the error's text could not be.
    sa.Column("failed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_votes_model", "model", "call_seq"),
    # Revision 0010: the calls-by-model figures read this index alone, not the votes' rows.
    sa.Index(
        "ix_votes_panel",
        "role",
        "model",
        "call_seq",
        "cost_usd",
        "total_tokens",
        "latency_s",
        "failed",
    ),
    sa.Index("ix_votes_error_cause", "error_cause", "model", "call_seq"),
)

# Applied feedback events; `idem_key` makes a repeated event a no-op.
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    sa.Column("idem_key", sa.String(500), nullable=False, unique=True),
    sa.Column("call_seq", sa.BigInteger, sa.ForeignKey("calls.seq"), nullable=False),
    sa.Column("verdict", sa.SmallInteger, nullable=False),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
    sa.Column("reaction", sa.String(20), nullable=False, server_default=""),
    sa.Column("source", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Index("ix_feedback_call", "call_seq", "id"),
)

# Current members of each evolved panel (JSON list of aliases).
panels = sa.Table(
    "panels",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("members", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

panel_changes = sa.Table(
    "panel_changes",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    sa.Column("panel", sa.String(100), nullable=False),
    sa.Column("previous", sa.Text, nullable=False),
    sa.Column("current", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("changed_us", sa.BigInteger, nullable=False),
    sa.Index("ix_panel_changes_panel", "panel", "id"),
)

# Second revision: cluster sets, validation results and per-model profiles (UniRoute).
cluster_sets = sa.Table(
    "cluster_sets",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("k", sa.Integer, nullable=False),
    sa.Column("dim", sa.Integer, nullable=False, server_default="0"),
    sa.Column("model_fingerprint", sa.String(200), nullable=False, server_default=""),
    sa.Column("seed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("sizes", sa.Text, nullable=False, server_default="[]"),
    sa.Column("fitted_us", sa.BigInteger, nullable=False),
    sa.Column("recorded_us", sa.BigInteger, nullable=False),
    # Third revision: the centroids themselves (k x dim float32, little-endian), stored by the
    # classifier so that every replica uses the same set; NULL for a set recorded by metadata.
    sa.Column("centroids", sa.LargeBinary, nullable=True),
)

profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("cluster_set_id", sa.String(200), sa.ForeignKey("cluster_sets.id"), primary_key=True),
    sa.Column("routing_cost", sa.Float, nullable=False, server_default="0"),
    sa.Column("updated_us", sa.BigInteger, nullable=False),
)

validation_results = sa.Table(
    "validation_results",
    metadata,
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("cluster_set_id", sa.String(200), primary_key=True),
    sa.Column("item_id", sa.String(200), primary_key=True),
    sa.Column("trial", sa.Integer, primary_key=True),
    sa.Column("cluster_id", sa.Integer, nullable=False),
    sa.Column("task_type", sa.String(100), nullable=False, server_default=""),
    sa.Column("correct", sa.Boolean, nullable=False),
    # Sixth revision: the parsed answer ("" for an abstention or a failure).
    sa.Column("answer", sa.Text, nullable=False, server_default=""),
    sa.ForeignKeyConstraint(
        ["model", "cluster_set_id"], ["profiles.model", "profiles.cluster_set_id"]
    ),
    sa.Index("ix_validation_set_item", "cluster_set_id", "item_id", "trial"),
)

# Sixth revision: each validation item's prompt embedding (float32 bytes), shared by every model
# profiled on the set: profile routing compares a prompt with its nearest items.
validation_items = sa.Table(
    "validation_items",
    metadata,
    sa.Column("cluster_set_id", sa.String(200), sa.ForeignKey("cluster_sets.id"), primary_key=True),
    sa.Column("item_id", sa.String(200), primary_key=True),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("embedding", sa.LargeBinary, nullable=False),
)

# Seventh revision: models registered at run time (the ensemble's RegisterModel), loaded by every
# ensemble replica. Never a key: `api_key_env` names the variable that holds it.
registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("alias", sa.String(200), primary_key=True),
    sa.Column("litellm_model", sa.String(400), nullable=False),
    sa.Column("tier", sa.String(20), nullable=False),
    sa.Column("input_cost_per_mtok", sa.Float, nullable=False, server_default="0"),
    sa.Column("output_cost_per_mtok", sa.Float, nullable=False, server_default="0"),
    sa.Column("routing_cost", sa.Float, nullable=False, server_default="0"),
    sa.Column("thinking", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("api_base", sa.String(2000), nullable=False, server_default=""),
    sa.Column("api_key_env", sa.String(200), nullable=False, server_default=""),
    sa.Column("registered_us", sa.BigInteger, nullable=False),
)

# Eighth revision: the answer cache (LookupAnswer, StoreAnswer). Keys are digests the gateway
# computes (`scope` a digest of the API key: entries never cross keys); `answer` is the gateway's
# serialised reply, opaque here. `embedding` (dim float32, little-endian) is NULL for an entry
# that only an exact lookup can find. A later store of the same four keys replaces the entry.
answer_cache = sa.Table(
    "answer_cache",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    sa.Column("scope", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("settings_key", sa.String(200), nullable=False),
    sa.Column("text_key", sa.String(200), nullable=False),
    sa.Column("embedder", sa.String(200), nullable=False, server_default=""),
    sa.Column("numbers", sa.Text, nullable=False, server_default=""),
    sa.Column("dim", sa.Integer, nullable=False, server_default="0"),
    sa.Column("embedding", sa.LargeBinary, nullable=True),
    sa.Column("answer", sa.LargeBinary, nullable=False),
    sa.Column("call_id", sa.String(200), nullable=False, server_default=""),
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("expires_us", sa.BigInteger, nullable=False),
    sa.Index("ix_answer_cache_keys", "scope", "kind", "settings_key", "text_key"),
    sa.Index("ix_answer_cache_expires", "expires_us"),
)

# Every LookupAnswer, hit or miss, for GetStats' `cache` over a time range.
cache_lookups = sa.Table(
    "cache_lookups",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("hit", sa.Boolean, nullable=False),
    sa.Column("semantic", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("saved_cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.Index("ix_cache_lookups_at", "at_us"),
)

# Ninth revision: every rating a change left (consensus or feedback), for the rating's history.
rating_history = sa.Table(
    "rating_history",
    metadata,
    sa.Column("id", Serial, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Column("rating_milli", sa.BigInteger, nullable=False),
    sa.Index("ix_rating_history_model_at", "model", "at_us", "id"),
)
