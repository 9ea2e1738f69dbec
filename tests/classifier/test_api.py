"""The classifier through its gRPC API, as the gateway and users call it, on the small
checkpoint: every field, batching, padding, truncation, bad input, scoring and clusters."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from freescaling.classifier.v1 import classifier_pb2
from freescaling.common.v1 import classification_pb2, info_pb2

PROMPTS = [
    "Write a Python script that uses a for loop.",
    "Summarize the following article about climate change in three sentences, keeping the "
    "numbers and the names of the scientists who were quoted in it.",
    "Hello!",
    "Is seventeen a prime number? Answer yes or no and explain your reasoning step by step, "
    "then give two more examples of primes larger than one hundred and say how you checked.",
    "Brainstorm ten names for a bakery.",
]
SCORE_FIELDS = [
    "task_type_prob",
    "creativity_scope",
    "reasoning",
    "contextual_knowledge",
    "number_of_few_shots",
    "domain_knowledge",
    "no_label_reason",
    "constraint_ct",
    "prompt_complexity_score",
]
TASK_TYPES = {
    "Brainstorming", "Chatbot", "Classification", "Closed QA", "Code Generation", "Extraction",
    "Open QA", "Other", "Rewrite", "Summarization", "Text Generation", "Unknown",
}  # fmt: skip


def _classify(stub, text, **kwargs):
    request = classifier_pb2.ClassifyRequest(text=text, **kwargs)
    return stub.Classify(request, timeout=30).classification


def _same_scores(a, b, tol=1e-3):
    assert (a.task_type_1, a.task_type_2, a.tier) == (b.task_type_1, b.task_type_2, b.tier)
    for name in SCORE_FIELDS:
        assert math.isclose(getattr(a, name), getattr(b, name), abs_tol=tol), name


def test_classify_returns_every_field(stub):
    c = _classify(stub, PROMPTS[0], include_embedding=True)
    assert c.task_type_1 in TASK_TYPES
    assert c.task_type_2 in TASK_TYPES | {"NA"}
    assert c.task_type_2 != c.task_type_1
    assert 0 < c.task_type_prob <= 1
    for name in ("creativity_scope", "reasoning", "contextual_knowledge", "constraint_ct"):
        assert 0 <= getattr(c, name) <= 1, name
    assert 0 <= c.domain_knowledge <= 1
    assert 0 <= c.number_of_few_shots <= 5
    assert c.no_label_reason == 0
    assert 0 < c.prompt_complexity_score < 1
    assert c.tier in (
        classification_pb2.TIER_SIMPLE,
        classification_pb2.TIER_MEDIUM,
        classification_pb2.TIER_COMPLEX,
    )
    assert c.scoring == classification_pb2.TIER_SCORING_COMPLEXITY
    assert c.tier_score == c.prompt_complexity_score
    tier_models = {
        classification_pb2.TIER_SIMPLE: "llama-3.3",
        classification_pb2.TIER_MEDIUM: "mistral-large",
        classification_pb2.TIER_COMPLEX: "deepseek-v3.1",
    }
    assert c.tier_model == tier_models[c.tier]
    # The routing embedder's (tests: a 32-wide sentence-transformers model), at unit length.
    assert len(c.embedding) == 32
    assert sum(v * v for v in c.embedding) == pytest.approx(1.0, abs=1e-4)
    assert not c.unscored_reason
    assert not c.truncated
    # [CLS] "Prompt: " + the text's pieces [SEP]
    assert 10 < c.token_count < 40
    assert not c.HasField("cluster_id")


def test_embedding_only_when_asked(stub):
    assert len(_classify(stub, PROMPTS[0]).embedding) == 0


def test_compass_scoring_per_request(stub):
    c = _classify(stub, PROMPTS[1], scoring=classification_pb2.TIER_SCORING_COMPASS)
    weights = {"Code Generation": 0.8, "Text Generation": 0.7, "Summarization": 0.6,
               "Brainstorming": 0.6, "Open QA": 0.5, "Rewrite": 0.5, "Other": 0.5,
               "Unknown": 0.5, "Closed QA": 0.4, "Classification": 0.3, "Extraction": 0.3,
               "Chatbot": 0.2}  # fmt: skip
    expected = (
        0.4 * c.domain_knowledge
        + 0.3 * c.reasoning
        + 0.2 * c.creativity_scope
        + 0.1 * weights[c.task_type_1]
    )
    assert c.scoring == classification_pb2.TIER_SCORING_COMPASS
    assert c.tier_score == pytest.approx(expected, abs=1e-5)
    want = (
        classification_pb2.TIER_SIMPLE
        if expected < 0.35
        else classification_pb2.TIER_MEDIUM
        if expected < 0.65
        else classification_pb2.TIER_COMPLEX
    )
    assert c.tier == want


def test_batch_equals_one_by_one_and_keeps_order(stub):
    reply = stub.ClassifyBatch(
        classifier_pb2.ClassifyBatchRequest(texts=PROMPTS, include_embedding=True), timeout=30
    )
    assert len(reply.classifications) == len(PROMPTS)
    for text, batched in zip(PROMPTS, reply.classifications, strict=True):
        alone = _classify(stub, text, include_embedding=True)
        _same_scores(batched, alone)
        assert batched.token_count == alone.token_count
        assert batched.embedding == pytest.approx(alone.embedding, abs=1e-4)


def test_concurrent_requests_share_batches_and_get_their_own_answers(stub):
    alone = [_classify(stub, t) for t in PROMPTS]
    with ThreadPoolExecutor(max_workers=len(PROMPTS) * 4) as pool:
        together = list(pool.map(lambda t: _classify(stub, t), PROMPTS * 4))
    for i, c in enumerate(together):
        _same_scores(c, alone[i % len(PROMPTS)])


def test_padding_does_not_change_the_answer(stub):
    short, long = PROMPTS[2], PROMPTS[3] + " " + PROMPTS[1]
    alone = _classify(stub, short, include_embedding=True)
    reply = stub.ClassifyBatch(
        classifier_pb2.ClassifyBatchRequest(texts=[short, long], include_embedding=True),
        timeout=30,
    )
    padded = reply.classifications[0]
    assert reply.classifications[1].token_count > 3 * padded.token_count
    _same_scores(padded, alone)
    assert padded.embedding == pytest.approx(alone.embedding, abs=1e-4)


def test_long_text_is_truncated_and_says_so(stub):
    c = _classify(stub, "Summarize this report on the weather. " * 200)
    assert c.truncated
    assert c.token_count == 512
    embedded = stub.Embed(
        classifier_pb2.EmbedRequest(texts=["word " * 1000, "short text"]), timeout=30
    )
    assert [e.truncated for e in embedded.embeddings] == [True, False]


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_invalid_argument(stub, text):
    with pytest.raises(grpc.RpcError) as err:
        _classify(stub, text)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "text is empty; send the prompt to classify"


def test_empty_text_in_a_batch_names_its_index(stub):
    with pytest.raises(grpc.RpcError) as err:
        stub.ClassifyBatch(classifier_pb2.ClassifyBatchRequest(texts=["fine", ""]), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "texts[1] is empty; send the prompt to classify"


def test_batch_over_the_limit_is_resource_exhausted(stub):
    with pytest.raises(grpc.RpcError) as err:
        stub.ClassifyBatch(classifier_pb2.ClassifyBatchRequest(texts=["a"] * 17), timeout=30)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "17 texts is more than the batch limit of 16" in err.value.details()
    assert "FREESCALING_CLASSIFIER_BATCH_LIMIT" in err.value.details()


def test_embed_matches_classify_embedding(stub):
    reply = stub.Embed(classifier_pb2.EmbedRequest(texts=PROMPTS[:2]), timeout=30)
    assert reply.dim == 32
    # The embedder's directory name and the digest of its config and weights.
    name, digest = reply.model_fingerprint.split(":")
    assert name == "tiny-embedder" and len(digest) == 16
    for text, e in zip(PROMPTS[:2], reply.embeddings, strict=True):
        assert e.values == pytest.approx(_classify(stub, text, include_embedding=True).embedding,
                                         abs=1e-4)  # fmt: skip


def test_get_info_lists_every_rpc_built_and_the_device(stub):
    info = stub.GetInfo(info_pb2.GetInfoRequest(), timeout=10)
    assert info.ready
    assert {c.method.rsplit("/", 1)[1] for c in info.capabilities if c.built} == {
        "Classify", "ClassifyBatch", "Embed", "FitClusters", "GetClusters", "GetInfo",
    }  # fmt: skip
    assert info.settings["effective_device"] == "cpu"
    assert info.settings["model_status"] == "ready"
    assert info.settings["quantize_int8"] == "False"
