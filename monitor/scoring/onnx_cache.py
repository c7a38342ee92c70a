"""The int8 ONNX copy of a model version: built once, cached in the version folder, verified.

On CPU the monitor scores with ONNX Runtime on a dynamically quantised (int8 weights) graph
whose attention, GELU and layer-norm ops are fused; benchmarks/scoring.py measures what this
buys over fp32 torch and how often the labels agree. The copy lives in ``<version>/onnx/``
beside a small JSON record naming the weights it was derived from and its own sha256, so a
stale or damaged copy is rebuilt rather than used. It is not part of the card's file list:
the version stays valid without it, and any failure here falls back to torch.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from monitor.scoring.artifact import LoadedModel, sha256_file

log = logging.getLogger(__name__)

ONNX_DIR = "onnx"
ONNX_FILE = "model-int8.onnx"
META_FILE = "onnx.json"
FORMAT = 2  # 2: weights quantised with reduce_range (copies of format 1 are rebuilt)
# Families whose encoder the ONNX Runtime BERT optimizer knows how to fuse.
_FUSABLE = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "distilbert": "bert",
            "electra": "bert", "deberta-v2": "bert"}


def source_digest(loaded: LoadedModel) -> str:
    """The weights a copy derives from: file names and sha256 from the card."""
    files = loaded.card.get("files", {})
    return ",".join(f"{w}:{files.get(w, '')}" for w in loaded.card.get("weights", []))


def cached_int8_onnx(loaded: LoadedModel) -> Path | None:
    """The cached int8 copy when present and matching this version's weights, else None."""
    if loaded.path is None:
        return None
    folder = loaded.path / ONNX_DIR
    return verified_copy(folder / ONNX_FILE, folder / META_FILE, source_digest(loaded))


def verified_copy(onnx_path: Path, meta_path: Path, source: str) -> Path | None:
    """onnx_path when its record names this source, this onnxruntime and its sha256."""
    if not (onnx_path.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    import onnxruntime

    if (not isinstance(meta, dict) or meta.get("format") != FORMAT
            or meta.get("source") != source
            or meta.get("onnxruntime") != onnxruntime.__version__
            or meta.get("sha256") != sha256_file(onnx_path)):
        return None
    return onnx_path


def ensure_int8_onnx(loaded: LoadedModel) -> Path | None:
    """The int8 ONNX copy of loaded, built now if missing or stale; None when it cannot be."""
    try:
        found = cached_int8_onnx(loaded)
        if found is not None:
            return found
        log.info("building the int8 ONNX copy of %s (once per version; takes seconds)",
                 loaded.version)
        return build_int8_onnx(loaded)
    except Exception as err:  # export has many failure modes; torch still works
        log.warning("no int8 ONNX copy of %s (%s: %s); scoring with torch instead",
                    loaded.version, type(err).__name__, err)
        return None


def build_int8_onnx(loaded: LoadedModel) -> Path:
    """Export loaded to ONNX, fuse, quantise to int8 and store it atomically in its folder."""
    if loaded.path is None:
        raise ValueError(f"model version {loaded.version} has no folder for an ONNX copy")
    path = build_int8(loaded.path / ONNX_DIR, ONNX_FILE, META_FILE,
                      source=source_digest(loaded), export=partial(_export_fp32, loaded),
                      model_config=loaded.model.config, name=loaded.version)
    log.info("int8 ONNX copy of %s written to %s", loaded.version, path)
    return path


def build_int8(folder: Path, onnx_name: str, meta_name: str, *, source: str,
               export: Callable[[Path], None], model_config: Any, name: str) -> Path:
    """export(fp32 path) -> fuse -> dynamic int8 -> folder/onnx_name plus its JSON record
    (source, onnxruntime version, sha256), both written atomically; returns the model path."""
    import onnxruntime

    folder.mkdir(exist_ok=True)
    with _quiet_root_logger(), tempfile.TemporaryDirectory(dir=folder, prefix=".build-") as tmp_dir:
        tmp = Path(tmp_dir)
        export(tmp / "fp32.onnx")
        fused = _fuse(model_config, name, tmp / "fp32.onnx", tmp / "fused.onnx")
        _quantize(fused, tmp / onnx_name)
        meta = {"format": FORMAT, "source": source,
                "onnxruntime": onnxruntime.__version__, "sha256": sha256_file(tmp / onnx_name),
                "fused": fused.name == "fused.onnx", "quantization": "dynamic int8 per-channel"}
        (tmp / meta_name).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        # Model first, record second: a crash in between leaves a record that fails its
        # sha256 check and the copy is rebuilt.
        os.replace(tmp / onnx_name, folder / onnx_name)
        os.replace(tmp / meta_name, folder / meta_name)
    return folder / onnx_name


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Hold the root logger at WARNING: onnxruntime's fusion and quantisation tools log
    hundreds of INFO lines through the root logger, which would flood the monitor's log."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


def eager_model(loaded: LoadedModel) -> Any:
    """A fresh copy of loaded's model from its folder with eager attention, for export."""
    from transformers import AutoModelForSequenceClassification

    if loaded.path is None:
        raise ValueError(f"model version {loaded.version} has no folder")
    # Eager attention exports as plain MatMul/Softmax, which the optimizer fuses into one
    # Attention op; SDPA exports as a pattern it does not recognise.
    return AutoModelForSequenceClassification.from_pretrained(
        loaded.path, use_safetensors=True, attn_implementation="eager").eval()


def export_onnx(module: Any, tokenizer: Any, dest: Path, output_names: list[str]) -> None:
    """torch.onnx.export of module(input_ids, attention_mask) with dynamic batch and length."""
    import warnings

    import torch

    sample = tokenizer(["a short sample headline", "another one"], padding=True,
                       return_tensors="pt")
    axes: dict[str, dict[int, str]] = {"input_ids": {0: "batch", 1: "tokens"},
                                       "attention_mask": {0: "batch", 1: "tokens"}}
    axes.update({name: {0: "batch"} for name in output_names})
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        # The TorchScript exporter (dynamo=False) needs no onnxscript and handles dynamic
        # batch and length axes for BERT-style encoders.
        torch.onnx.export(module, (sample["input_ids"], sample["attention_mask"]), str(dest),
                          dynamo=False, input_names=["input_ids", "attention_mask"],
                          output_names=output_names, dynamic_axes=axes, opset_version=17)


def _export_fp32(loaded: LoadedModel, dest: Path) -> None:
    export_onnx(eager_model(loaded), loaded.tokenizer, dest, ["logits"])


def _fuse(cfg: Any, name: str, src: Path, dest: Path) -> Path:
    kind = _FUSABLE.get(getattr(cfg, "model_type", ""))
    if kind is None:
        return src
    from onnxruntime.transformers import optimizer

    try:
        opt = optimizer.optimize_model(str(src), model_type=kind,
                                       num_heads=int(cfg.num_attention_heads),
                                       hidden_size=int(cfg.hidden_size), opt_level=1)
        opt.save_model_to_file(str(dest))
    except Exception as err:  # fusion is an optimisation; the unfused graph still runs
        log.info("ONNX fusion skipped for %s: %s", name, err)
        return src
    return dest


def _quantize(src: Path, dest: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # reduce_range: 7-bit weights. x86 CPUs without VNNI (AVX2 or AVX-512 only, e.g. AMD
    # Zen 3) multiply u8 x s8 pairs into saturating int16 sums, which with full-range weights
    # shifted a tiny model's probabilities by ~0.04 and flipped labels; ONNX Runtime's
    # quantisation guide recommends it there, and on VNNI CPUs it costs little precision.
    quantize_dynamic(str(src), str(dest), weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=True,
                     # Fused ops hide output types from shape inference: they are float.
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def remove_cache(path: Path) -> None:
    """Delete a version's ONNX copy (it is rebuilt on next use)."""
    shutil.rmtree(Path(path) / ONNX_DIR, ignore_errors=True)
