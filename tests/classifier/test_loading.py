"""Loading the checkpoint: strict (a renamed key or a wrong head size is refused with a message
naming them, by the loader and by the running service, which stays up NOT_SERVING), the
full-size key layout, and the tokenizer from spm.model without tokenizer.json."""

from __future__ import annotations

import json
import shutil

import grpc
import pytest

from freescaling.classifier.v1 import classifier_pb2, classifier_pb2_grpc
from freescaling.common.v1 import classification_pb2, info_pb2
from services.classifier import checkpoint
from services.classifier.tiny_checkpoint import TASK_TYPES
from tests.classifier.conftest import start_classifier
from tests.support.processes import wait_for


def _rewrite_weights(src, dst, edit) -> None:
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    state = load_file(str(src / "model.safetensors"))
    edit(state)
    save_file(state, str(dst / "model.safetensors"))


def _rename_head(state) -> None:
    state["head_3.linear.weight"] = state.pop("head_3.fc.weight")


def _shrink_task_head(state) -> None:
    state["head_0.fc.weight"] = state["head_0.fc.weight"][:11].clone()
    state["head_0.fc.bias"] = state["head_0.fc.bias"][:11].clone()


def test_the_small_checkpoint_loads_strictly(classifier_checkpoint):
    model, heads = checkpoint.load_model(classifier_checkpoint)
    assert heads.targets[0] == "task_type" and heads.sizes == [12, 3, 2, 2, 6, 4, 1, 2]
    assert not model.training
    assert [h.fc.out_features for h in model.heads] == heads.sizes


def test_a_renamed_key_is_refused_naming_both_keys(classifier_checkpoint, tmp_path):
    _rewrite_weights(classifier_checkpoint, tmp_path / "renamed", _rename_head)
    with pytest.raises(checkpoint.CheckpointError) as err:
        checkpoint.load_model(tmp_path / "renamed")
    message = str(err.value)
    assert "does not match the classifier's structure" in message
    assert "missing keys (1): head_3.fc.weight" in message
    assert "unexpected keys (1): head_3.linear.weight" in message


def test_a_wrong_head_size_is_refused_with_both_shapes(classifier_checkpoint, tmp_path):
    _rewrite_weights(classifier_checkpoint, tmp_path / "shrunk", _shrink_task_head)
    with pytest.raises(checkpoint.CheckpointError) as err:
        checkpoint.load_model(tmp_path / "shrunk")
    assert (
        "mis-shaped keys (2): head_0.fc.bias (checkpoint [11], model [12]), "
        "head_0.fc.weight (checkpoint [11, 64], model [12, 64])"
    ) in str(err.value)


def test_only_the_known_stale_buffer_is_tolerated(classifier_checkpoint, tmp_path):
    import torch

    def add_position_ids(state):
        state["backbone.embeddings.position_ids"] = torch.arange(512).expand((1, -1)).clone()

    _rewrite_weights(classifier_checkpoint, tmp_path / "old", add_position_ids)
    checkpoint.load_model(tmp_path / "old")

    def add_other(state):
        state["backbone.embeddings.position_embeddings.weight"] = torch.zeros(512, 64)

    _rewrite_weights(classifier_checkpoint, tmp_path / "other", add_other)
    with pytest.raises(checkpoint.CheckpointError, match="unexpected keys \\(1\\): backbone"):
        checkpoint.load_model(tmp_path / "other")


def test_config_without_maps_is_refused(classifier_checkpoint, tmp_path):
    broken = tmp_path / "nomaps"
    shutil.copytree(classifier_checkpoint, broken)
    config = json.loads((broken / "config.json").read_text())
    del config["weights_map"]
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(checkpoint.CheckpointError, match=r"cannot read .*weights_map"):
        checkpoint.load_model(broken)


def test_full_size_keys_and_shapes_are_the_published_checkpoint(classifier_checkpoint):
    """DeBERTa-v3-base with the published heads, built on the meta device (nothing allocated,
    nothing downloaded), against the key list derived from the published architecture."""
    heads = checkpoint.read_heads_config(classifier_checkpoint)
    full = checkpoint.HeadsConfig(**{**heads.__dict__, "backbone_overrides": {}})
    state = checkpoint.build_model(full, device="meta").state_dict()
    shapes = {k: list(v.shape) for k, v in state.items()}

    h, ff = 768, 3072
    expected = {
        "backbone.embeddings.word_embeddings.weight": [128100, h],
        "backbone.embeddings.LayerNorm.weight": [h],
        "backbone.embeddings.LayerNorm.bias": [h],
        "backbone.encoder.rel_embeddings.weight": [512, h],
        "backbone.encoder.LayerNorm.weight": [h],
        "backbone.encoder.LayerNorm.bias": [h],
    }
    for n in range(12):
        layer = f"backbone.encoder.layer.{n}"
        for proj in ("query_proj", "key_proj", "value_proj"):
            expected[f"{layer}.attention.self.{proj}.weight"] = [h, h]
            expected[f"{layer}.attention.self.{proj}.bias"] = [h]
        expected[f"{layer}.attention.output.dense.weight"] = [h, h]
        expected[f"{layer}.attention.output.dense.bias"] = [h]
        expected[f"{layer}.intermediate.dense.weight"] = [ff, h]
        expected[f"{layer}.intermediate.dense.bias"] = [ff]
        expected[f"{layer}.output.dense.weight"] = [h, ff]
        expected[f"{layer}.output.dense.bias"] = [h]
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            expected[f"{layer}.{norm}.weight"] = [h]
            expected[f"{layer}.{norm}.bias"] = [h]
    for i, size in enumerate([12, 3, 2, 2, 6, 4, 1, 2]):
        expected[f"head_{i}.fc.weight"] = [size, h]
        expected[f"head_{i}.fc.bias"] = [size]

    assert shapes == expected
    backbone = [k for k in shapes if k.startswith("backbone.")]
    assert len(backbone) == 198
    params = sum(math_prod(s) for k, s in shapes.items() if k.startswith("backbone."))
    assert params == 183_831_552
    assert sum(math_prod(s) for k, s in shapes.items() if k.endswith("fc.weight")) == 768 * 32


def math_prod(shape):
    out = 1
    for d in shape:
        out *= d
    return out


def test_spm_only_tokenizer_knows_ordinary_words(classifier_checkpoint, tmp_path):
    """Without tokenizer.json the vocabulary comes from spm.model (transformers alone would map
    every word to [UNK]); with one written from it, the ids are the same."""
    from services.classifier.tokenizer import PromptTokenizer

    assert not (classifier_checkpoint / "tokenizer.json").exists()
    spm = PromptTokenizer.from_dir(classifier_checkpoint)
    assert spm.source.endswith("spm.model")
    text = "Write a Python script that uses a for loop."
    (encoded,) = spm.encode([text])
    assert spm.unk_id is not None and spm.unk_id not in encoded.ids
    assert encoded.ids[0] == spm.backend.token_to_id("[CLS]")
    assert encoded.ids[-1] == spm.backend.token_to_id("[SEP]")
    import sentencepiece

    reference = sentencepiece.SentencePieceProcessor(
        model_file=str(classifier_checkpoint / "spm.model")
    )
    assert encoded.ids[1:-1] == reference.encode("Prompt: " + text)
    assert spm.backend.decode(encoded.ids) == "Prompt: " + text

    with_json = tmp_path / "with-json"
    shutil.copytree(classifier_checkpoint, with_json)
    spm.backend.save(str(with_json / "tokenizer.json"))
    fast = PromptTokenizer.from_dir(with_json)
    assert fast.source.endswith("tokenizer.json")
    assert fast.encode([text])[0].ids == encoded.ids


def _wait_log(service, needle):
    return wait_for(
        lambda: any(needle in r.get("message", "") for r in service.log_records()),
        timeout=60,
        what=f"log line with {needle!r}",
    )


def _unscored(stub) -> classification_pb2.Classification:
    return stub.Classify(classifier_pb2.ClassifyRequest(text="hi"), timeout=10).classification


def test_without_a_usable_checkpoint_the_service_is_ready_degraded(classifier_checkpoint, tmp_path):
    """Embeddings and clusters from the embedder; task type and complexity unknown (never the
    guess of heads that did not load), and GetInfo says what is missing and what to set."""
    _rewrite_weights(classifier_checkpoint, tmp_path / "renamed", _rename_head)
    service = start_classifier(
        tmp_path, env={"FREESCALING_CLASSIFIER_MODEL": str(tmp_path / "renamed")}
    ).wait_ready(timeout=90)
    try:
        stub = classifier_pb2_grpc.ClassifierStub(service.channel())
        c = _unscored(stub)
        assert "the classifier model is unavailable" in c.unscored_reason
        assert "missing keys (1): head_3.fc.weight" in c.unscored_reason
        assert c.task_type_1 == "Unknown" and c.task_type_prob == 0
        assert c.tier == classification_pb2.TIER_UNSPECIFIED and not c.tier_model
        assert c.prompt_complexity_score == 0 and c.token_count > 0
        embedded = stub.Embed(classifier_pb2.EmbedRequest(texts=["hi", "there"]), timeout=10)
        assert embedded.dim == 32 and embedded.model_fingerprint.startswith("tiny-embedder:")
        fit = stub.FitClusters(
            classifier_pb2.FitClustersRequest(texts=["a b", "c d", "e f"], k=2), timeout=30
        )
        assert fit.cluster_set.model_fingerprint == embedded.model_fingerprint
        assert _unscored(stub).HasField("cluster_id")
        info = stub.GetInfo(info_pb2.GetInfoRequest(), timeout=10)
        assert "task type and complexity are unknown" in info.settings["degraded"]
        assert "FREESCALING_CLASSIFIER_MODEL" in info.settings["degraded"]
        assert info.settings["embedder_id"] == embedded.model_fingerprint
        # One line for the operator, not one per retry.
        warnings = [
            r for r in service.log_records() if "cannot load the classifier model" in r["message"]
        ]
        assert len(warnings) == 1 and warnings[0]["level"] == "WARNING"
    finally:
        assert service.stop() == 0


def test_with_the_checkpoint_embedder_a_bad_checkpoint_is_not_ready(
    classifier_checkpoint, tmp_path
):
    _rewrite_weights(classifier_checkpoint, tmp_path / "renamed", _rename_head)
    service = start_classifier(
        tmp_path,
        env={
            "FREESCALING_CLASSIFIER_MODEL": str(tmp_path / "renamed"),
            "FREESCALING_CLASSIFIER_EMBEDDER": "checkpoint",
        },
    )
    try:
        _wait_log(service, "unexpected keys (1): head_3.linear.weight")
        assert service.health("") == "SERVING"
        assert service.health(service.grpc_name) == "NOT_SERVING"
        stub = classifier_pb2_grpc.ClassifierStub(service.channel())
        with pytest.raises(grpc.RpcError) as err:
            stub.Classify(classifier_pb2.ClassifyRequest(text="hi"), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "the classifier model is unavailable" in err.value.details()
        assert "missing keys (1): head_3.fc.weight" in err.value.details()
    finally:
        assert service.stop() == 0


def test_the_service_waits_for_a_missing_model_and_loads_it_when_it_appears(
    classifier_checkpoint, tmp_path
):
    later = tmp_path / "later"
    service = start_classifier(
        tmp_path,
        env={
            "FREESCALING_CLASSIFIER_MODEL": str(later),
            "FREESCALING_CLASSIFIER_RETRY_MAX_S": "1",
        },
    ).wait_ready(timeout=90)
    try:
        stub = classifier_pb2_grpc.ClassifierStub(service.channel())
        reason = _unscored(stub).unscored_reason
        assert f"FREESCALING_CLASSIFIER_MODEL='{later}': no such directory" in reason
        shutil.copytree(classifier_checkpoint, later)
        wait_for(
            lambda: not _unscored(stub).unscored_reason, timeout=60, what="the checkpoint loaded"
        )
        c = _unscored(stub)
        assert c.task_type_1 in TASK_TYPES and c.tier != classification_pb2.TIER_UNSPECIFIED
    finally:
        assert service.stop() == 0


def test_an_offline_hub_id_is_unavailable_not_a_crash(tmp_path):
    service = start_classifier(
        tmp_path,
        env={
            "FREESCALING_CLASSIFIER_MODEL": "nvidia/prompt-task-and-complexity-classifier",
            "HF_HUB_OFFLINE": "1",
            "HF_HOME": str(tmp_path / "hf"),
        },
    ).wait_ready(timeout=90)
    try:
        stub = classifier_pb2_grpc.ClassifierStub(service.channel())
        reason = _unscored(stub).unscored_reason
        assert "cannot get hub snapshot" in reason
        assert "HF_HUB_OFFLINE is set and the snapshot is not in the cache" in reason
    finally:
        assert service.stop() == 0


@pytest.mark.parametrize("onednn", [False, True], ids=["nn.Linear", "oneDNN"])
def test_inference_attention_gives_the_library_outputs_without_recomputing_positions(
    classifier_checkpoint, onednn
):
    import torch

    from services.classifier.attention import optimize_attention
    from services.classifier.onednn import pack_linears

    plain, _ = checkpoint.load_model(classifier_checkpoint)
    fast, _ = checkpoint.load_model(classifier_checkpoint)
    layers = len(fast.backbone.encoder.layer)
    assert optimize_attention(fast.backbone) == layers
    assert fast.state_dict().keys() == plain.state_dict().keys()  # nothing added or renamed
    if onednn:
        # query, key, value, attention output, intermediate and output per layer
        assert pack_linears(fast.backbone) == 6 * layers

    calls = []
    for layer in fast.backbone.encoder.layer:
        layer.attention.self.query_proj.register_forward_hook(lambda *_: calls.append(1))
    generator = torch.Generator().manual_seed(3)
    # 90 tokens: past the tiny backbone's linear position buckets (16) into the log ones.
    for length in (12, 90):
        ids = torch.randint(5, 90, (3, length), generator=generator)
        mask = torch.ones_like(ids)
        mask[1, length // 2 :] = 0  # padded rows
        mask[2, 7:] = 0
        with torch.inference_mode():
            pooled, logits = plain(ids, mask)
            pooled_fast, logits_fast = fast(ids, mask)
        torch.testing.assert_close(pooled_fast, pooled, rtol=1e-5, atol=1e-5)
        for a, b in zip(logits_fast, logits, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    # Once per layer per pass for the content queries; the position rows were not projected.
    assert len(calls) == 2 * layers
