"""Classifiers: texts -> class probabilities, in length-sorted batches, on GPU or CPU.

Two implementations of one Protocol: ``TorchClassifier`` (any device; autocast bf16/fp16 on
a GPU, fp32 on CPU) and ``OnnxClassifier`` (CPU, the int8 ONNX Runtime copy of a version
built by monitor.scoring.onnx_cache). Both tokenise the whole list once without padding,
sort by token length so each batch pads only to its own longest text, and return results in
the caller's order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from monitor.config import Config
from monitor.errors import ModelError
from monitor.scoring.artifact import LoadedModel

if TYPE_CHECKING:
    from monitor.scoring.lexical import LexicalModel

log = logging.getLogger(__name__)


class Classifier(Protocol):
    """What the score job needs from a model: its identity and probabilities per text."""

    version: str
    task: str
    labels: tuple[str, ...]
    backend: str

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One {label: probability} dict per text, in input order; each sums to 1."""
        ...


def resolve_device(setting: str) -> str:
    """"auto" -> cuda if available, else mps, else cpu; an explicit choice is checked."""
    import torch

    if setting == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise ModelError("model.device is 'cuda' but no CUDA GPU is available to torch; "
                         "set model.device = 'auto' or 'cpu'")
    if setting == "mps" and not torch.backends.mps.is_available():
        raise ModelError("model.device is 'mps' but MPS is not available; "
                         "set model.device = 'auto' or 'cpu'")
    return setting


def scoring_batch_size(config: Config, device: str) -> int:
    """Texts per scoring batch on this device: [model] gpu_batch_size on a GPU."""
    return config.model.batch_size if device == "cpu" else config.model.gpu_batch_size


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Index batches of similar length (shortest first), so padding stays small."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists to the longest one: (input_ids, attention_mask) int64."""
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, seq in enumerate(ids):
        input_ids[row, :len(seq)] = seq
        mask[row, :len(seq)] = 1
    return input_ids, mask


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    # Empty strings still yield [CLS] [SEP]: every article gets a prediction.
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    return [list(x) for x in enc["input_ids"]]


def _pad_id(tokenizer: Any) -> int:
    pad = getattr(tokenizer, "pad_token_id", None)
    return 0 if pad is None else int(pad)


def padded_batches(tokenizer: Any, texts: Sequence[str], max_length: int,
                   batch_size: int) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """Tokenise once, then (indices into texts, input_ids, attention_mask) per batch of
    similar length; callers write each batch's results back at those indices."""
    ids = _tokenize(tokenizer, texts, max_length)
    pad_id = _pad_id(tokenizer)
    for idx in length_sorted_batches([len(x) for x in ids], batch_size):
        input_ids, mask = pad_batch([ids[i] for i in idx], pad_id)
        yield idx, input_ids, mask


def check_logits(logits: np.ndarray, rows: int, labels: Sequence[str], version: str) -> None:
    if logits.shape != (rows, len(labels)):
        raise ModelError(f"model version {version} returned logits of shape "
                         f"{logits.shape}, expected ({rows}, {len(labels)})")


def probs_to_dicts(probs: np.ndarray, labels: Sequence[str]) -> list[dict[str, float]]:
    return [dict(zip(labels, map(float, row), strict=True)) for row in probs]


def autocast_dtype(device: str) -> Any:
    """The autocast dtype for a device: bf16 (else fp16) on CUDA, fp16 on MPS, None on CPU."""
    import torch

    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return None


def torch_backend_name(device: str, dtype: Any) -> str:
    return f"torch-{device}" + ("" if dtype is None else f"-{str(dtype).split('.')[-1]}")


def ort_session(onnx_path: Path, threads: int = 0) -> Any:
    """An ONNX Runtime CPU session tuned for a BERT chain on a machine shared with others."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads  # 0 = one per physical core
    opts.inter_op_num_threads = 1  # a BERT graph is a chain: parallel ops buy nothing
    # Idle workers sleep instead of spinning: the monitor shares its cores with polling,
    # the database and torch, and spinning threads starve them (measured: the torch
    # baseline in the same process slowed down many times over).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelError(f"ONNX model {onnx_path} could not be opened: {err}") from None


class _BatchedClassifier:
    """Shared tokenise -> sort -> batch -> restore-order loop; subclasses run the model."""

    backend = "base"

    def __init__(self, *, tokenizer: Any, labels: Sequence[str], version: str, task: str,
                 batch_size: int, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.labels = tuple(labels)
        self.version = version
        self.task = task
        self.batch_size = batch_size
        self.max_length = max_length

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        probs = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        for idx, input_ids, mask in padded_batches(self.tokenizer, texts, self.max_length,
                                                   self.batch_size):
            logits = self._logits(input_ids, mask)
            check_logits(logits, len(idx), self.labels, self.version)
            probs[idx] = softmax(logits)
        return probs_to_dicts(probs, self.labels)

    def _logits(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class TorchClassifier(_BatchedClassifier):
    """A transformers model in eval mode under inference_mode; autocast on a GPU."""

    backend = "torch"

    def __init__(self, loaded: LoadedModel, *, device: str = "cpu", batch_size: int = 32,
                 max_length: int = 64) -> None:
        super().__init__(tokenizer=loaded.tokenizer, labels=loaded.labels,
                         version=loaded.version, task=loaded.task, batch_size=batch_size,
                         max_length=max_length)
        self.device = device
        self.model = loaded.model.to(device).eval()
        self._autocast_dtype: Any = autocast_dtype(device)
        self.backend = torch_backend_name(device, self._autocast_dtype)

    def _logits(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            ids_t = torch.from_numpy(input_ids).to(self.device)
            mask_t = torch.from_numpy(mask).to(self.device)
            if self._autocast_dtype is not None:
                with torch.autocast(device_type=self.device, dtype=self._autocast_dtype):
                    out = self.model(input_ids=ids_t, attention_mask=mask_t).logits
            else:
                out = self.model(input_ids=ids_t, attention_mask=mask_t).logits
            return out.float().cpu().numpy()


class OnnxClassifier(_BatchedClassifier):
    """An ONNX Runtime session on CPU (the int8 copy cached in the version folder)."""

    backend = "onnx-int8"

    def __init__(self, onnx_path: Path, *, tokenizer: Any, labels: Sequence[str], version: str,
                 task: str, batch_size: int = 32, max_length: int = 64,
                 threads: int = 0) -> None:
        super().__init__(tokenizer=tokenizer, labels=labels, version=version, task=task,
                         batch_size=batch_size, max_length=max_length)
        self.session = ort_session(onnx_path, threads)
        self._inputs = {i.name for i in self.session.get_inputs()}

    def _logits(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        return np.asarray(self.session.run(None, feeds)[0])


class BlendedClassifier:
    """A classifier whose probabilities are mixed with its version's lexical model's
    (monitor.scoring.lexical); whatever backend runs the encoder."""

    def __init__(self, inner: Classifier, lexical: LexicalModel) -> None:
        if tuple(lexical.labels) != tuple(inner.labels):
            raise ModelError(f"model version {inner.version}: lexical labels "
                             f"{list(lexical.labels)} differ from {list(inner.labels)}")
        self.inner = inner
        self.lexical = lexical
        self.version, self.task, self.labels = inner.version, inner.task, inner.labels
        self.backend = f"{inner.backend}+lexical"

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        rows = self.inner.predict_proba(texts)
        encoder = np.array([[row[label] for label in self.labels] for row in rows])
        return probs_to_dicts(self.lexical.blend(encoder, texts), self.labels)


def with_lexical(clf: Classifier, loaded: LoadedModel) -> Classifier:
    """clf, blended with loaded's lexical model when the version has one."""
    return clf if loaded.lexical is None else BlendedClassifier(clf, loaded.lexical)


def make_classifier(loaded: LoadedModel, config: Config) -> Classifier:
    """The fastest classifier for this machine (int8 ONNX on CPU when enabled and buildable,
    else torch: fp32 on CPU, autocast on GPU), blended with the version's lexical model."""
    return with_lexical(_encoder_classifier(loaded, config), loaded)


def _encoder_classifier(loaded: LoadedModel, config: Config) -> Classifier:
    device = resolve_device(config.model.device)
    batch_size = scoring_batch_size(config, device)
    max_length = loaded.max_length(config.model.max_length)
    if device == "cpu" and config.model.cpu_int8 and loaded.path is not None:
        from monitor.scoring.onnx_cache import ensure_int8_onnx

        onnx_path = ensure_int8_onnx(loaded)
        if onnx_path is not None:
            try:
                return OnnxClassifier(onnx_path, tokenizer=loaded.tokenizer,
                                      labels=loaded.labels, version=loaded.version,
                                      task=loaded.task, batch_size=batch_size,
                                      max_length=max_length)
            except ModelError as err:
                log.warning("%s; scoring %s with torch instead", err, loaded.version)
    return TorchClassifier(loaded, device=device, batch_size=batch_size,
                           max_length=max_length)
