"""Joint training: one encoder, a head per task, saved as two versions that share the encoder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from training_helpers import (
    COMPANIES,
    CUES,
    sentiment_rows,
    write_bootstrap_file,
    write_cli_config,
    write_csv,
)
from training_helpers import FAST as HELPER_FAST

from monitor.cli import cli
from monitor.config import Config
from monitor.config_sections import DEFAULT_TOPICS
from monitor.errors import DataError
from monitor.scoring import registry
from monitor.scoring.artifact import load_version
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW, make_config
from training.data import Example, LabelledData, load_labelled
from training.evaluate import predict_proba
from training.joint import joint_split, make_heads, merge_rows, split_model, train_joint_versions
from training.loop import IGNORE, Head

FAST = replace(HELPER_FAST, epochs=2, min_per_class=2)
TOPICS = DEFAULT_TOPICS[:4]


def _topic_rows() -> list[tuple[str, str]]:
    return [(f"{COMPANIES[i % len(COMPANIES)]} {topic.lower()} {i}", topic)
            for topic in TOPICS for i in range(6)]


def _part(task: str, labels: tuple[str, ...], rows: list[tuple[str, str]]) -> LabelledData:
    examples = tuple(Example(t, lab, "mem", i) for i, (t, lab) in enumerate(rows, start=1))
    return LabelledData(task, labels, examples, ())


@pytest.fixture
def config(tmp_path: Path, tiny_base: Path) -> Config:
    return make_config(tmp_path, model={"base_model": str(tiny_base),
                                        "registry_dir": str(tmp_path / "models"),
                                        "topics": list(TOPICS)})


def test_heads_lie_side_by_side_and_need_distinct_tasks() -> None:
    s = _part("sentiment", SENTIMENT_LABELS, sentiment_rows(2))
    t = _part("topic", TOPICS, _topic_rows())
    heads = make_heads([s, t])
    assert [(h.task, h.offset, h.stop) for h in heads] == [("sentiment", 0, 3), ("topic", 3, 7)]
    with pytest.raises(DataError, match="two or more different tasks"):
        make_heads([s, s])


def test_split_keeps_a_text_on_one_side_for_every_task() -> None:
    shared = [f"acme headline {i}" for i in range(40)]
    s = _part("sentiment", SENTIMENT_LABELS,
              [(t, SENTIMENT_LABELS[i % 3]) for i, t in enumerate(shared)])
    t = _part("topic", TOPICS, [(t, TOPICS[i % 4]) for i, t in enumerate(shared)]
              + _topic_rows())
    split = joint_split([s, t], 0.25, seed=3)
    s_train, s_val = ({e.text for e in side} for side in split["sentiment"])
    t_train, t_val = ({e.text for e in side} for side in split["topic"])
    assert not (s_val & t_train) and not (t_val & s_train)
    assert len(s_train) + len(s_val) == 40 and len(t_train) + len(t_val) == 64
    assert s_val and t_val - s_val  # the topic-only texts were split too

    texts, targets = merge_rows(split, make_heads([s, t]))
    assert len(texts) == len(set(texts)) == len(s_train | t_train)
    sentiment_only = [i for i, text in enumerate(texts) if text not in s_train]
    assert sentiment_only and all(targets[0][i] == IGNORE for i in sentiment_only)
    assert all(targets[1][i] != IGNORE for i in range(len(texts)))


def test_split_model_heads_reproduce_the_joint_outputs(tiny_base: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    heads = (Head("sentiment", SENTIMENT_LABELS, 0), Head("topic", TOPICS, 3))
    joint = AutoModelForSequenceClassification.from_pretrained(tiny_base, num_labels=7).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    texts = ["acme profit rises today", "globex shares slump", "board meets"]
    singles = split_model(joint, heads)
    for head in heads:
        single = singles[head.task]
        assert single.config.id2label == dict(enumerate(head.labels))
        want = predict_proba(joint, tokenizer, texts, max_length=16, head=(head.offset, head.stop))
        got = predict_proba(single, tokenizer, texts, max_length=16)
        assert got.shape == (3, len(head.labels))
        assert torch.allclose(torch.from_numpy(got), torch.from_numpy(want), atol=1e-6)


def test_joint_training_saves_two_versions_sharing_one_encoder(config: Config, engine) -> None:
    s = _part("sentiment", SENTIMENT_LABELS, sentiment_rows(8))
    t = _part("topic", TOPICS, _topic_rows())
    outcomes = train_joint_versions(config, engine, [s, t], FAST, now=NOW, progress=False)
    assert [o.card["task"] for o in outcomes] == ["sentiment", "topic"]
    assert all(o.active for o in outcomes)  # first versions of their tasks
    versions = {o.card["task"]: o.version for o in outcomes}
    assert registry.active_version(engine, "topic") == versions["topic"]
    a, b = (load_version(o.folder) for o in outcomes)
    assert a.labels == SENTIMENT_LABELS and b.labels == TOPICS
    sa, sb = a.model.state_dict(), b.model.state_dict()
    encoder = [k for k in sa if not k.startswith("classifier.")]
    assert encoder and set(encoder) == {k for k in sb if not k.startswith("classifier.")}
    assert all(torch.equal(sa[k], sb[k]) for k in encoder)
    assert not torch.equal(sa["classifier.bias"][:3], sb["classifier.bias"][:3])
    for o in outcomes:
        card = json.loads((o.folder / "card.json").read_text("utf-8"))
        assert card["joint"]["versions"] == versions
        assert card["joint"]["tasks"] == ["sentiment", "topic"]
        assert card["metrics"]["confusion_matrix"]["labels"] == list(o.card["labels"])
        assert {"val_macro_f1_sentiment", "val_macro_f1_topic"} <= set(card["history"][0])
    assert outcomes[0].card["examples"]["total"] == 24
    assert outcomes[1].card["examples"]["total"] == 24


def _config_file(tmp_path: Path, tiny_base: Path) -> Path:
    topics = ", ".join(f'"{t}"' for t in TOPICS)
    return write_cli_config(tmp_path, tiny_base, f"topics = [{topics}]\n")


def test_cli_train_both_from_separate_files_with_label_maps(tmp_path: Path,
                                                           tiny_base: Path) -> None:
    codes = {"negative": "0", "positive": "1", "neutral": "2"}
    sent = write_csv(tmp_path / "sent.csv", [(t, codes[lab]) for t, lab in sentiment_rows(8)])
    topic = write_csv(tmp_path / "topic.csv",
                      [(t, str(TOPICS.index(lab))) for t, lab in _topic_rows()])
    topic_map = tmp_path / "topics.json"
    topic_map.write_text(json.dumps({str(i): t for i, t in enumerate(TOPICS)}), "utf-8")
    cfg = _config_file(tmp_path, tiny_base)
    res = CliRunner().invoke(cli, [
        "--config", str(cfg), "train", "--task", "both", "--sentiment-data", str(sent),
        "--sentiment-label-map", "0=negative,1=positive,2=neutral", "--topic-data", str(topic),
        "--topic-label-map", str(topic_map), "--epochs", "1", "--batch-size", "8",
        "--max-length", "16", "--eval-fraction", "0.25"])
    assert res.exit_code == 0, res.output
    assert "sentiment: 24 examples (negative=8, neutral=8, positive=8)" in res.output
    assert "training both tasks over one shared encoder" in res.output
    assert "=== sentiment ===" in res.output and "=== topic ===" in res.output
    assert res.output.count("is now the active") == 2


def test_cli_train_both_refuses_mixed_options(tmp_path: Path, tiny_base: Path) -> None:
    cfg = _config_file(tmp_path, tiny_base)
    f = write_csv(tmp_path / "both.csv", [("acme profit rises", "positive", TOPICS[0])],
                  header=("text", "sentiment", "topic"))
    runner = CliRunner()
    res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "both", "--data", str(f),
                              "--label-map", "0=negative"])
    assert res.exit_code == 1 and "--sentiment-label-map" in res.output
    res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                              "--sentiment-data", str(f)])
    assert res.exit_code == 1 and "go with --task both" in res.output
    res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "both",
                              "--sentiment-data", str(f)])
    assert res.exit_code == 1 and "nothing labelled for topic" in res.output


def test_both_column_file_feeds_both_tasks(tmp_path: Path) -> None:
    rows = [(f"{c} {cue}", lab, TOPICS[i % 4]) for lab, cues in CUES.items()
            for i, (c, cue) in enumerate(zip(COMPANIES, cues, strict=False))]
    f = write_csv(tmp_path / "both.csv", rows, header=("text", "sentiment", "topic"))
    s = load_labelled([f], "sentiment", SENTIMENT_LABELS)
    t = load_labelled([f], "topic", TOPICS)
    split = joint_split([s, t], 0.25, seed=1)
    texts, targets = merge_rows(split, make_heads([s, t]))
    assert all(x != IGNORE for x in targets[0]) and all(x != IGNORE for x in targets[1])
    assert len(texts) == len(split["sentiment"][0]) == len(split["topic"][0])


def test_cli_bootstrap_joint_trains_both_tasks_in_one_run(tmp_path: Path,
                                                          tiny_base: Path) -> None:
    cfg = _config_file(tmp_path, tiny_base)
    rows = write_bootstrap_file(tmp_path, cfg, TOPICS)
    res = CliRunner().invoke(cli, ["--config", str(cfg), "bootstrap", "--joint", "--epochs", "1"])
    assert res.exit_code == 0, res.output
    versions = {task: res.output.split(f"{task}: trained ")[1].split()[0]
                for task in ("sentiment", "topic")}
    for task, version in versions.items():
        card = json.loads((tmp_path / "models" / task / version / "card.json").read_text("utf-8"))
        assert card["joint"]["versions"] == versions
        assert card["examples"]["total"] == len(rows)


def test_cli_train_with_an_auxiliary_head_saves_only_the_main_task(tmp_path: Path,
                                                                   tiny_base: Path) -> None:
    rows = sentiment_rows(8)
    main = write_csv(tmp_path / "main.csv", rows[::2])
    codes = {"negative": "0", "positive": "1", "neutral": "2"}
    aux = write_csv(tmp_path / "aux.csv", [(t + " tweet", codes[lab]) for t, lab in rows[1::2]])
    cfg = _config_file(tmp_path, tiny_base)
    res = CliRunner().invoke(cli, [
        "--config", str(cfg), "train", "--task", "sentiment", "--data", str(main),
        "--aux-data", str(aux), "--aux-label-map", "0=negative,1=positive,2=neutral",
        "--epochs", "1", "--batch-size", "8", "--max-length", "16", "--eval-fraction", "0.25"])
    assert res.exit_code == 0, res.output
    assert "with an auxiliary head on 12 examples" in res.output
    version = res.output.split("saved model version ")[1].split()[0]
    folder = tmp_path / "models" / "sentiment" / version
    card = json.loads((folder / "card.json").read_text("utf-8"))
    assert card["auxiliary"]["examples"] == 12 and card["auxiliary"]["data"][0]["rows"] == 12
    assert card["examples"]["total"] == 12  # the main data only
    assert load_version(folder).labels == SENTIMENT_LABELS  # the auxiliary head is not saved
    assert list((tmp_path / "models").iterdir()) == [tmp_path / "models" / "sentiment"]
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "both",
                                   "--data", str(main), "--aux-data", str(aux)])
    assert res.exit_code == 1 and "--aux-data goes with --task sentiment or topic" in res.output
