"""Version folders: atomic save, safetensors only, and a clear ModelError for every defect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.errors import ModelError
from monitor.scoring.artifact import load_version, save_version, sha256_file, verify_version
from tests.scoring.helpers import MakeVersion, tiny_model


def test_round_trip_writes_safetensors_card_and_hashes(make_version: MakeVersion) -> None:
    folder = make_version("topic", "topic-a", seed=1)
    names = {p.name for p in folder.iterdir()}
    assert {"model.safetensors", "config.json", "card.json", "tokenizer.json"} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pkl"))]
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp left
    card = json.loads((folder / "card.json").read_text())
    assert card["version"] == "topic-a" and card["task"] == "topic"
    assert card["weights"] == ["model.safetensors"]
    assert card["files"]["model.safetensors"] == sha256_file(folder / "model.safetensors")
    assert card["metrics"] == {"accuracy": 0.5} and card["project_version"]
    config = json.loads((folder / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(20)] == card["labels"]

    loaded = load_version(folder)
    assert loaded.version == "topic-a" and loaded.task == "topic"
    assert loaded.labels == tuple(card["labels"]) and len(loaded.labels) == 20
    assert not loaded.model.training


def test_a_version_folder_carries_vocab_txt_for_wordpiece_tools(
        make_version: MakeVersion) -> None:
    """transformers 5 writes tokenizer.json only; vocab.txt beside it must give the same
    token for every id, and a WordPiece tokenizer built from it alone the same ids."""
    from tokenizers import BertWordPieceTokenizer

    folder = make_version("sentiment", "sentiment-v", seed=1)
    loaded = load_version(folder)
    lines = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert lines == loaded.tokenizer.convert_ids_to_tokens(list(range(len(lines))))
    assert len(lines) == len(loaded.tokenizer.get_vocab())
    text = "profit warning hits shares"
    from_vocab = BertWordPieceTokenizer(str(folder / "vocab.txt"), lowercase=True)
    assert from_vocab.encode(text).ids == loaded.tokenizer(text)["input_ids"]
    assert "vocab.txt" in json.loads((folder / "card.json").read_text())["files"]


def test_save_refuses_existing_folder_and_mismatched_labels(tmp_path: Path,
                                                            make_version: MakeVersion) -> None:
    folder = make_version("sentiment", "s1")
    model, tok = tiny_model(("negative", "neutral", "positive"), 0, tmp_path / "vocab")
    with pytest.raises(ModelError, match="already exists"):
        save_version(model, tok, {"task": "sentiment"}, folder)
    with pytest.raises(ModelError, match="differ from the model's id2label"):
        save_version(model, tok, {"task": "sentiment", "labels": ["bad", "neutral", "good"]},
                     tmp_path / "x")
    with pytest.raises(ModelError, match="no 'task'"):
        save_version(model, tok, {}, tmp_path / "y")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_flipped_weight_bytes_fail_the_hash(make_version: MakeVersion) -> None:
    folder = make_version()
    _flip_byte(folder / "model.safetensors", -10)
    with pytest.raises(ModelError) as err:
        load_version(folder)
    msg = str(err.value)
    assert "model.safetensors" in msg and "sha256" in msg and "finsentinel" in msg


def test_missing_file_is_named(make_version: MakeVersion) -> None:
    folder = make_version()
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match=r"tokenizer\.json.*missing"):
        verify_version(folder)
    (folder / "card.json").unlink()
    with pytest.raises(ModelError, match=r"no card\.json"):
        load_version(folder)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_version(tmp_path / "nope")


def test_bad_card_json(make_version: MakeVersion) -> None:
    folder = make_version()
    (folder / "card.json").write_text('{"task": "sentiment", ', encoding="utf-8")
    with pytest.raises(ModelError, match=r"card\.json is not valid JSON"):
        load_version(folder)
    (folder / "card.json").write_text('["a list"]', encoding="utf-8")
    with pytest.raises(ModelError, match="JSON object"):
        load_version(folder)
    (folder / "card.json").write_text('{"task": "sentiment"}', encoding="utf-8")
    with pytest.raises(ModelError, match="'version' is missing"):
        load_version(folder)


def test_id2label_mismatch_with_the_card(make_version: MakeVersion) -> None:
    folder = make_version()
    cfg_path = folder / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["id2label"] = {"0": "positive", "1": "neutral", "2": "negative"}
    cfg_path.write_text(json.dumps(cfg), encoding="utf-8")
    # Re-hash so the hash check passes and the label check is what fails.
    card = json.loads((folder / "card.json").read_text())
    card["files"]["config.json"] = sha256_file(cfg_path)
    (folder / "card.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="does not match the card's labels"):
        load_version(folder)


def test_unloadable_weights_with_matching_hash(make_version: MakeVersion) -> None:
    folder = make_version()
    weights = folder / "model.safetensors"
    weights.write_bytes(b"not a safetensors file")
    card = json.loads((folder / "card.json").read_text())
    card["files"]["model.safetensors"] = sha256_file(weights)
    (folder / "card.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="could not be loaded"):
        load_version(folder)
