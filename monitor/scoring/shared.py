"""One encoder pass for both tasks: when two versions share an encoder, apply both heads to it.

Joint training saves a sentiment version and a topic version whose encoder weights and
tokenizer are identical and only the classification heads differ. Scoring each separately
runs that encoder twice per article; ``SharedEncoderPair`` runs it once and applies both
heads, and hands the score job one ``Classifier`` view per task. A view asked for some texts
computes both tasks and keeps the other task's probabilities in a bounded memo, so the other
view's call for the same texts costs nothing (a miss simply runs the model again).

Backends: on CPU with ``model.cpu_int8`` one int8 ONNX Runtime graph with two outputs,
built like the per-version copies (monitor.scoring.onnx_cache) and cached in the first
(sentiment) version's ``onnx/`` folder; otherwise torch (autocast on a GPU, fp32 on CPU).
Only the BERT-style pooled head (``classifier(dropout(pooler_output))``) is reproduced;
any other family is reported as not shareable and the job scores each task separately.
torch is imported inside the functions that need it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from monitor.config import Config
from monitor.errors import ModelError
from monitor.scoring.artifact import LoadedModel
from monitor.scoring.classifier import (
    Classifier,
    autocast_dtype,
    check_logits,
    ort_session,
    padded_batches,
    probs_to_dicts,
    resolve_device,
    scoring_batch_size,
    softmax,
    torch_backend_name,
    with_lexical,
)
from monitor.scoring.encoder_match import why_not_shared
from monitor.scoring.onnx_cache import (
    ONNX_DIR,
    build_int8,
    eager_model,
    export_onnx,
    source_digest,
    verified_copy,
)

log = logging.getLogger(__name__)

# Other-task results kept per task; a text scored long ago is simply scored again.
MEMO_SIZE = 50_000
# (input_ids, attention_mask) -> one logits array per task, in the pair's task order.
Runner = Callable[[np.ndarray, np.ndarray], Sequence[np.ndarray]]


def _memo_key(text: str) -> bytes:
    # A 16-byte digest rather than the text: 50,000 long articles would hold megabytes.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SharedEncoderPair:
    """Both tasks' probabilities from one encoder pass; ``views()`` -> one Classifier each."""

    def __init__(self, models: Sequence[LoadedModel], run: Runner, *, backend: str,
                 batch_size: int, max_length: int, memo_size: int = MEMO_SIZE) -> None:
        self.tasks = tuple(m.task for m in models)
        self.labels = {m.task: m.labels for m in models}
        self.versions = {m.task: m.version for m in models}
        self.tokenizer = models[0].tokenizer
        self.backend = backend
        self.batch_size = batch_size
        self.max_length = max_length
        self.memo_size = memo_size
        self._run = run
        self._memo: dict[str, OrderedDict[bytes, np.ndarray]] = {t: OrderedDict()
                                                                 for t in self.tasks}
        self.encoder_passes = 0  # batches run through the encoder
        self.texts_encoded = 0  # texts run through the encoder

    def views(self) -> dict[str, Classifier]:
        return {t: SharedView(self, t) for t in self.tasks}

    def predict(self, task: str, texts: Sequence[str]) -> list[dict[str, float]]:
        """task's probabilities for texts: memoised rows where present, the model otherwise
        (which memoises the other tasks' rows for their next call)."""
        labels = self.labels[task]
        if not texts:
            return []
        probs = np.zeros((len(texts), len(labels)), dtype=np.float64)
        keys = [_memo_key(t) for t in texts]
        memo = self._memo[task]
        hits = {k: memo.pop(k) for k in dict.fromkeys(keys) if k in memo}
        todo = [i for i, k in enumerate(keys) if k not in hits]
        for i, k in enumerate(keys):
            if k in hits:
                probs[i] = hits[k]
        if todo:
            computed = self._encode([texts[i] for i in todo])
            probs[todo] = computed[task]
            for other in self.tasks:
                if other != task:
                    self._remember(other, [keys[i] for i in todo], computed[other])
        return probs_to_dicts(probs, labels)

    def _encode(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        out = {t: np.zeros((len(texts), len(self.labels[t])), dtype=np.float64)
               for t in self.tasks}
        for idx, input_ids, mask in padded_batches(self.tokenizer, texts, self.max_length,
                                                   self.batch_size):
            logits = self._run(input_ids, mask)
            self.encoder_passes += 1
            self.texts_encoded += len(idx)
            for task, lg in zip(self.tasks, logits, strict=True):
                check_logits(lg, len(idx), self.labels[task], self.versions[task])
                out[task][idx] = softmax(lg)
        return out

    def _remember(self, task: str, keys: list[bytes], rows: np.ndarray) -> None:
        memo = self._memo[task]
        for key, row in zip(keys, rows, strict=True):
            memo[key] = row.copy()  # a view would keep the whole batch array alive
            memo.move_to_end(key)
        while len(memo) > self.memo_size:
            memo.popitem(last=False)  # oldest first


class SharedView:
    """One task's face of a SharedEncoderPair; satisfies the Classifier protocol."""

    def __init__(self, pair: SharedEncoderPair, task: str) -> None:
        self.pair = pair
        self.task = task
        self.version = pair.versions[task]
        self.labels = pair.labels[task]
        self.backend = pair.backend

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return self.pair.predict(self.task, texts)


def two_head_module(models: Sequence[Any]) -> Any:
    """torch module (input_ids, attention_mask) -> (logits per model): models[0]'s base
    (with pooler) once, then each model's ``classifier`` on the pooled output, as
    BertForSequenceClassification does in eval mode (its dropout is then a no-op)."""
    import torch

    class TwoHeads(torch.nn.Module):
        def __init__(self, base: Any, heads: list[Any]) -> None:
            super().__init__()
            self.base = base
            self.heads = torch.nn.ModuleList(heads)

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, ...]:
            pooled = self.base(input_ids=input_ids, attention_mask=attention_mask).pooler_output
            return tuple(head(pooled) for head in self.heads)

    first = models[0]
    return TwoHeads(getattr(first, first.base_model_prefix),
                    [m.classifier for m in models]).eval()


class _TorchRunner:
    def __init__(self, module: Any, device: str) -> None:
        self.module = module.to(device).eval()
        self.device = device
        self.dtype = autocast_dtype(device)

    def __call__(self, input_ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        import torch

        with torch.inference_mode():
            ids_t = torch.from_numpy(input_ids).to(self.device)
            mask_t = torch.from_numpy(mask).to(self.device)
            if self.dtype is not None:
                with torch.autocast(device_type=self.device, dtype=self.dtype):
                    outs = self.module(ids_t, mask_t)
            else:
                outs = self.module(ids_t, mask_t)
            return [o.float().cpu().numpy() for o in outs]


class _OnnxRunner:
    def __init__(self, path: Path, tasks: Sequence[str], threads: int = 0) -> None:
        self.session = ort_session(path, threads)
        self.outputs = [f"logits_{t}" for t in tasks]
        found = {o.name for o in self.session.get_outputs()}
        if not set(self.outputs) <= found:
            raise ModelError(f"shared ONNX graph {path} has outputs {sorted(found)}, "
                             f"expected {self.outputs}")

    def __call__(self, input_ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        return [np.asarray(x) for x in self.session.run(self.outputs, feeds)]


def shared_onnx_paths(models: Sequence[LoadedModel]) -> tuple[Path, Path]:
    """(graph, record) in the first version's onnx/ folder, named after the others."""
    first = models[0]
    if first.path is None:
        raise ValueError(f"model version {first.version} has no folder for an ONNX copy")
    others = "+".join(re.sub(r"[^A-Za-z0-9._-]", "_", m.version) for m in models[1:])
    folder = first.path / ONNX_DIR
    return folder / f"shared-{others}.onnx", folder / f"shared-{others}.json"


def _shared_source(models: Sequence[LoadedModel]) -> str:
    return ";".join(f"{m.task}={m.version}:{source_digest(m)}" for m in models)


def _export_shared(models: Sequence[LoadedModel], dest: Path) -> None:
    # The first model re-read with eager attention (fusable); the heads are plain Linears.
    module = two_head_module([eager_model(models[0]), *(m.model for m in models[1:])])
    export_onnx(module, models[0].tokenizer, dest, [f"logits_{m.task}" for m in models])


def ensure_shared_onnx(models: Sequence[LoadedModel]) -> Path | None:
    """The cached int8 two-output graph of models, built if missing or stale; None on failure."""
    names = " + ".join(m.version for m in models)
    try:
        onnx_path, meta_path = shared_onnx_paths(models)
        source = _shared_source(models)
        found = verified_copy(onnx_path, meta_path, source)
        if found is not None:
            return found
        log.info("building the shared int8 ONNX graph of %s (once per pair; takes seconds)",
                 names)
        path = build_int8(onnx_path.parent, onnx_path.name, meta_path.name, source=source,
                          export=partial(_export_shared, models),
                          model_config=models[0].model.config, name=names)
        log.info("shared int8 ONNX graph of %s written to %s", names, path)
        return path
    except Exception as err:  # export has many failure modes; separate scoring still works
        log.warning("no shared int8 ONNX graph for %s (%s: %s); scoring each task separately",
                    names, type(err).__name__, err)
        return None


def make_shared_pair(models: Sequence[LoadedModel], config: Config, *,
                     threads: int = 0) -> SharedEncoderPair | None:
    """A pair serving every model's task from one pass, or None (logged) when the models do
    not share an encoder or the shared backend cannot be built: score them separately."""
    names = " and ".join(f"{m.task} {m.version}" for m in models)
    reason = why_not_shared(models[0], models[1]) if len(models) == 2 else "need two models"
    if reason is not None:
        log.info("%s are scored separately (no shared encoder: %s)", names, reason)
        return None
    device = resolve_device(config.model.device)
    # One pass serves both heads, so it reads as far as the longer-trained of the two.
    length = max(m.max_length(config.model.max_length) for m in models)
    kwargs = {"batch_size": scoring_batch_size(config, device), "max_length": length}
    if device == "cpu" and config.model.cpu_int8:
        return onnx_shared_pair(models, threads=threads, **kwargs)
    torch_runner = _TorchRunner(two_head_module([m.model for m in models]), device)
    backend = torch_backend_name(device, torch_runner.dtype) + "-shared"
    return SharedEncoderPair(models, torch_runner, backend=backend, **kwargs)


def onnx_shared_pair(models: Sequence[LoadedModel], *, batch_size: int, max_length: int,
                     threads: int = 0) -> SharedEncoderPair | None:
    """The int8 ONNX Runtime pair (graph built or reused), or None (logged) when it cannot
    be built; callers check why_not_shared first."""
    path = ensure_shared_onnx(models)
    if path is None:
        return None
    try:
        runner = _OnnxRunner(path, [m.task for m in models], threads)
    except ModelError as err:
        log.warning("%s; scoring %s separately", err, " and ".join(m.version for m in models))
        return None
    return SharedEncoderPair(models, runner, backend="onnx-int8-shared", batch_size=batch_size,
                             max_length=max_length)


def shared_views(models: Sequence[LoadedModel], config: Config) -> dict[str, Classifier] | None:
    """{task: classifier} over one shared pass, or None when the tasks must run separately."""
    pair = make_shared_pair(models, config)
    if pair is None:
        return None
    views = pair.views()
    return {m.task: with_lexical(views[m.task], m) for m in models}
