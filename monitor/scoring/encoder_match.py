"""Decide whether two model versions share an encoder: same class, config, tokenizer, tensors.

Jointly trained versions (training.joint) differ only in their classification heads; the
scorer (monitor.scoring.shared) may then run the encoder once for both. Everything here only
compares: it never changes a model. torch is imported inside the function that needs it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.scoring.artifact import LoadedModel

# Classes whose head we reproduce exactly: logits = classifier(dropout(pooler_output)).
_SUPPORTED = frozenset({"BertForSequenceClassification"})
_HEAD = frozenset({"classifier.weight", "classifier.bias"})
# Config keys that describe the head or bookkeeping, not the encoder's computation.
_NOT_ENCODER = frozenset({"id2label", "label2id", "num_labels", "_name_or_path", "architectures",
                          "transformers_version", "problem_type", "finetuning_task",
                          "classifier_dropout", "output_attentions", "output_hidden_states",
                          "return_dict", "torchscript"})
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "merges.txt",
                    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                    "spiece.model", "sentencepiece.bpe.model", "tokenizer.model")
_VOCAB_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model",
                "sentencepiece.bpe.model", "tokenizer.model")


def head_names(model: Any) -> set[str]:
    """State-dict names outside the base model (``model.base_model_prefix``): the head."""
    prefix = f"{model.base_model_prefix}."
    return {k for k in model.state_dict() if not k.startswith(prefix)}


def why_not_shared(a: LoadedModel, b: LoadedModel) -> str | None:
    """None when a and b run the same encoder on the same tokens, else the reason why not."""
    if a.task == b.task:
        return f"both versions are {a.task} models"
    for m in (a, b):
        kind = type(m.model).__name__
        if kind not in _SUPPORTED:
            return f"{m.version} is a {kind}; one-pass scoring handles {sorted(_SUPPORTED)}"
        if head_names(m.model) != _HEAD:
            return f"{m.version} has head tensors {sorted(head_names(m.model))}"
        if getattr(getattr(m.model, m.model.base_model_prefix), "pooler", None) is None:
            return f"{m.version} has no pooler"
    cfg_a, cfg_b = _encoder_config(a.model), _encoder_config(b.model)
    if cfg_a != cfg_b:
        keys = sorted(k for k in cfg_a.keys() | cfg_b.keys() if cfg_a.get(k) != cfg_b.get(k))
        return f"encoder configs differ in {keys}"
    if not _same_tokenizer(a, b):
        return "tokenizers differ"
    return _differing_tensor(a.model, b.model)


def shares_encoder(a: LoadedModel, b: LoadedModel) -> bool:
    """True when one encoder pass can serve both: same class, encoder config, tokenizer and
    bit-identical encoder tensors (everything but the ``classifier.*`` head)."""
    return why_not_shared(a, b) is None


def _encoder_config(model: Any) -> dict[str, Any]:
    cfg = model.config.to_dict()
    return {k: v for k, v in cfg.items() if k not in _NOT_ENCODER}


def _tokenizer_digests(card: dict[str, Any]) -> dict[str, str]:
    files = card.get("files") or {}
    return {name: files[name] for name in _TOKENIZER_FILES if name in files}


def _same_tokenizer(a: LoadedModel, b: LoadedModel) -> bool:
    da, db = _tokenizer_digests(a.card), _tokenizer_digests(b.card)
    if da or db:
        # The files both versions have must match, a vocabulary among them (a version saved
        # before vocab.txt was written beside tokenizer.json still pairs with a newer one).
        common = da.keys() & db.keys()
        return (any(name in common for name in _VOCAB_FILES)
                and all(da[name] == db[name] for name in common))
    # Versions without file digests (built in memory): compare what the tokenisers do.
    return (type(a.tokenizer) is type(b.tokenizer)
            and a.tokenizer.get_vocab() == b.tokenizer.get_vocab())


def _differing_tensor(model_a: Any, model_b: Any) -> str | None:
    sd_a, sd_b = model_a.state_dict(), model_b.state_dict()
    enc_a = [k for k in sd_a if k not in _HEAD]
    if set(enc_a) != {k for k in sd_b if k not in _HEAD}:
        return "encoder tensor names differ"
    for name in enc_a:
        ta, tb = sd_a[name], sd_b[name]
        if ta.dtype != tb.dtype or ta.shape != tb.shape:
            return f"encoder tensor {name} differs in dtype or shape"
        if ta.data_ptr() != tb.data_ptr() and not _same_bytes(ta, tb):
            return f"encoder tensor {name} differs"
    return None


def _same_bytes(ta: Any, tb: Any, chunk: int = 1 << 22) -> bool:
    # Bytes compared in numpy: bit-identical, any dtype, single-threaded (torch.equal per
    # tensor wakes torch's thread pool ~100 times: measured 300 ms vs ~20 ms for MiniLM), in
    # 4 MB slices so the comparison's temporary stays small (not 47 MB for the embeddings).
    import torch

    a, b = (t.detach().cpu().reshape(-1).view(torch.uint8).numpy() for t in (ta, tb))
    return all(np.array_equal(a[i:i + chunk], b[i:i + chunk]) for i in range(0, len(a), chunk))
