"""Fine-tuning a tiny random BERT: version folder, card, registry, load round trip, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from training_helpers import sentiment_rows, write_bootstrap_file, write_cli_config, write_csv

from monitor.cli import cli
from monitor.config import Config
from monitor.config_sections import DEFAULT_TOPICS
from monitor.errors import DataError, ModelError
from monitor.scoring import registry
from monitor.scoring.artifact import load_version
from monitor.scoring.base_model import sha256_file
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW
from training.data import load_labelled
from training.evaluate import evaluate_examples
from training.train import TrainParams, check_params, train_version

FAST = TrainParams(epochs=3, lr=5e-3, batch_size=8, max_length=16, eval_fraction=0.25,
                   patience=3, min_per_class=4)


def _data(tmp_path: Path, name: str = "train.csv"):  # type: ignore[no-untyped-def]
    f = write_csv(tmp_path / name, sentiment_rows(12))
    return f, load_labelled([f], "sentiment", SENTIMENT_LABELS)


def test_train_saves_registers_and_loads_a_version(config: Config, engine, tmp_path: Path,
                                                   tiny_base: Path) -> None:
    f, data = _data(tmp_path)
    out = train_version(config, engine, data, FAST, now=NOW, progress=False)
    assert out.active and registry.active_version(engine, "sentiment") == out.version
    assert out.folder == registry.version_dir(config, "sentiment", out.version)
    assert (out.folder / "model.safetensors").is_file()
    assert not list(out.folder.glob("*.bin"))
    card = json.loads((out.folder / "card.json").read_text("utf-8"))
    assert card["task"] == "sentiment" and card["labels"] == list(SENTIMENT_LABELS)
    assert card["base_model"]["sha256"] == sha256_file(tiny_base / "model.safetensors")
    assert card["data"] == [{"path": str(f), "sha256": sha256_file(f), "rows": 36}]
    assert card["examples"]["train"] + card["examples"]["validation"] == 36
    assert card["examples"]["validation"] == 9
    assert card["hyperparameters"]["lr"] == FAST.lr and card["max_length"] == 16
    assert set(card["metrics"]) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix"}
    assert len(card["metrics"]["confusion_matrix"]["matrix"]) == 3
    assert card["created_at"] == NOW.isoformat() and card["training_seconds"] >= 0
    assert 1 <= card["best_epoch"] <= 3 and card["project_version"]

    loaded = load_version(out.folder)
    assert loaded.labels == SENTIMENT_LABELS and loaded.version == out.version
    texts = [e.text for e in data.examples]
    m = evaluate_examples(loaded.model, loaded.tokenizer, texts,
                          [e.label for e in data.examples], loaded.labels, max_length=16)
    assert m["n"] == 36 and 0.0 <= m["accuracy"] <= 1.0

    # A second version is registered but waits for `finsentinel models activate`.
    second = train_version(config, engine, data, FAST, now=NOW.replace(minute=31),
                           progress=False)
    assert not second.active and registry.active_version(engine, "sentiment") == out.version


def test_training_is_reproducible_with_a_seed(config: Config, engine, tmp_path: Path) -> None:
    _, data = _data(tmp_path)
    a = train_version(config, engine, data, FAST, now=NOW, progress=False)
    b = train_version(config, engine, data, FAST, now=NOW.replace(second=1), progress=False)
    assert a.card["history"] == b.card["history"]
    assert sha256_file(a.folder / "model.safetensors") == \
        sha256_file(b.folder / "model.safetensors")


def test_too_few_examples_and_bad_params_are_refused(config: Config, engine,
                                                     tmp_path: Path) -> None:
    f = write_csv(tmp_path / "few.csv", [("up", "positive"), ("down", "negative"),
                                         ("flat", "neutral")])
    data = load_labelled([f], "sentiment", SENTIMENT_LABELS)
    with pytest.raises(DataError, match="needs at least 4"):
        train_version(config, engine, data, FAST, now=NOW, progress=False)
    _, ok = _data(tmp_path)
    with pytest.raises(DataError, match="--epochs must be at least 1"):
        train_version(config, engine, ok, TrainParams(epochs=0), now=NOW, progress=False)
    with pytest.raises(DataError, match=r"label smoothing .* must be in \[0, 1\)"):
        train_version(config, engine, ok, replace(FAST, label_smoothing=1.0), now=NOW,
                      progress=False)
    with pytest.raises(DataError, match=r"layer decay .* must be in \(0, 1\]"):
        train_version(config, engine, ok, replace(FAST, layer_decay=0.0), now=NOW,
                      progress=False)
    with pytest.raises(ModelError, match="not a folder"):
        train_version(config, engine, ok, FAST, now=NOW, base_model="./no/such/dir",
                      progress=False)


def test_cli_train_then_evaluate(tmp_path: Path, tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    rows = [(t, {"positive": "1", "negative": "0", "neutral": "2"}[lab])
            for t, lab in sentiment_rows(12)]
    half = len(rows) // 2
    a = write_csv(tmp_path / "a.csv", rows[::2])
    b = write_csv(tmp_path / "b.csv", rows[1::2])
    runner = CliRunner()
    res = runner.invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment", "--data",
                              str(a), str(b), "--label-map", "0=negative,1=positive,2=neutral",
                              "--epochs", "2", "--lr", "5e-3", "--batch-size", "8",
                              "--max-length", "16", "--eval-fraction", "0.25",
                              "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "training sentiment on 36 examples (negative=12, neutral=12, positive=12)" \
        in res.output
    assert "precision" in res.output and "confusion matrix" in res.output
    assert "is now the active sentiment model" in res.output
    version = res.output.split("saved model version ")[1].split()[0]
    card = json.loads((tmp_path / "models" / "sentiment" / version / "card.json")
                      .read_text("utf-8"))
    assert card["hyperparameters"]["threads"] == 1 and card["max_length"] == 16
    assert card["hyperparameters"]["freeze_embeddings"] is True
    assert half == 18
    # frozen by default: the saved word embeddings are the base's, bit for bit
    saved = _word_embeddings(tmp_path / "models" / "sentiment" / version)
    assert saved.equal(_word_embeddings(tiny_base))

    res = runner.invoke(cli, ["--config", str(cfg), "evaluate", "--task", "sentiment",
                              "--data", str(a), "--label-map", "0=negative,1=positive,2=neutral"])
    assert res.exit_code == 0, res.output
    assert f"model {version} (sentiment" in res.output and "macro avg" in res.output
    assert "(n=18)" in res.output

    res = runner.invoke(cli, ["--config", str(cfg), "evaluate", "--task", "topic",
                              "--data", str(a)])
    assert res.exit_code == 1 and "no active topic model" in res.output
    res = runner.invoke(cli, ["--config", str(cfg), "evaluate", "--task", "sentiment",
                              "--data", str(a), "--model", "nope"])
    assert res.exit_code == 1 and "unknown model version 'nope'" in res.output


def _word_embeddings(folder: Path) -> torch.Tensor:
    from safetensors.torch import load_file

    weights = load_file(str(folder / "model.safetensors"))
    (key,) = [k for k in weights if k.endswith("embeddings.word_embeddings.weight")]
    return weights[key]


def test_cli_train_embeddings_fine_tunes_the_word_embeddings(tmp_path: Path,
                                                             tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    data = write_csv(tmp_path / "s.csv", sentiment_rows(8))
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                   "--data", str(data), "--train-embeddings", "--epochs", "1",
                                   "--lr", "5e-3", "--batch-size", "8", "--max-length", "16",
                                   "--eval-fraction", "0.25", "--threads", "1"])
    assert res.exit_code == 0, res.output
    version = res.output.split("saved model version ")[1].split()[0]
    folder = tmp_path / "models" / "sentiment" / version
    card = json.loads((folder / "card.json").read_text("utf-8"))
    assert card["hyperparameters"]["freeze_embeddings"] is False
    before, after = _word_embeddings(tiny_base), _word_embeddings(folder)
    assert before.shape == after.shape and not after.equal(before)


def test_cli_ema_is_recorded_in_the_card_and_checked(tmp_path: Path, tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    data = write_csv(tmp_path / "s.csv", sentiment_rows(8))
    args = ["--config", str(cfg), "train", "--task", "sentiment", "--data", str(data),
            "--epochs", "1", "--lr", "5e-3", "--batch-size", "8", "--max-length", "16",
            "--eval-fraction", "0.25", "--threads", "1"]
    res = CliRunner().invoke(cli, [*args, "--ema", "2.5"])
    assert res.exit_code == 0, res.output
    version = res.output.split("saved model version ")[1].split()[0]
    card = json.loads((tmp_path / "models" / "sentiment" / version / "card.json")
                      .read_text("utf-8"))
    assert card["hyperparameters"]["ema_epochs"] == 2.5
    res = CliRunner().invoke(cli, [*args, "--ema", "-1"])
    assert res.exit_code == 1 and "--ema (the weight average's span in epochs)" in res.output
    assert "got -1.0" in res.output and "Traceback" not in res.output


def test_cli_bad_data_is_one_clear_line(tmp_path: Path, tiny_base: Path) -> None:
    cfg = write_cli_config(tmp_path, tiny_base)
    bad = write_csv(tmp_path / "bad.csv", [("up", "positive"), ("down", "bearish")])
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                   "--data", str(bad)])
    assert res.exit_code == 1
    assert "bad.csv line 3: unknown label 'bearish'" in res.output
    assert "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment"])
    assert res.exit_code == 1 and "nothing to train on" in res.output
    ok = write_csv(tmp_path / "ok.csv", sentiment_rows(6))
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                   "--data", str(ok), "--threads", "0"])
    assert res.exit_code == 1 and "--threads must be at least 1, got 0" in res.output


def test_cli_train_from_db_labels(tmp_path: Path, tiny_base: Path) -> None:
    from monitor.store.engine import open_store
    from monitor.store.labels import save_label

    cfg = write_cli_config(tmp_path, tiny_base)
    engine = open_store(f"sqlite:///{tmp_path / 'fs.db'}")
    with engine.begin() as conn:
        for text, label in sentiment_rows(6):
            save_label(conn, text=text, task="sentiment", label=label, now=NOW)
    engine.dispose()
    res = CliRunner().invoke(cli, ["--config", str(cfg), "train", "--task", "sentiment",
                                   "--from-db", "--epochs", "1", "--batch-size", "8",
                                   "--max-length", "16", "--eval-fraction", "0.34"])
    assert res.exit_code == 0, res.output
    version = res.output.split("saved model version ")[1].split()[0]
    card = json.loads((tmp_path / "models" / "sentiment" / version / "card.json")
                      .read_text("utf-8"))
    assert card["data"] == [{"path": "database:labels", "sha256": None, "rows": 18}]


def test_cli_bootstrap_trains_missing_tasks_then_skips(tmp_path: Path, tiny_base: Path) -> None:
    # A small file in the bootstrap format (model.bootstrap_data) keeps this test fast; the
    # shipped file is checked in test_training_bootstrap.py.
    cfg = write_cli_config(tmp_path, tiny_base)
    write_bootstrap_file(tmp_path, cfg, DEFAULT_TOPICS)
    runner = CliRunner()
    res = runner.invoke(cli, ["--config", str(cfg), "bootstrap", "--epochs", "1"])
    assert res.exit_code == 0, res.output
    assert "sentiment: trained sentiment-" in res.output and "topic: trained topic-" in res.output
    res = runner.invoke(cli, ["--config", str(cfg), "bootstrap", "--task", "topic"])
    assert res.exit_code == 0 and "topic: skipped (active version topic-" in res.output


def test_label_smoothing_and_class_weights_reach_the_loss(tiny_base: Path) -> None:
    import torch

    from monitor.scoring.base_model import load_base_for_classification, resolve_base_model
    from training.loop import Head, make_loop

    model, tokenizer = load_base_for_classification(resolve_base_model(str(tiny_base)),
                                                    SENTIMENT_LABELS)
    head = Head("sentiment", SENTIMENT_LABELS)
    targets = [[0, 1, 1, 1]]  # negative once, neutral three times
    texts = ["acme misses", "board meets", "report due", "results date"]
    loop, _ = make_loop(model, tokenizer, texts, [head], targets,
                        replace(FAST, label_smoothing=0.2), torch.device("cpu"), 2)
    loss = loop.loss_fns[0]
    assert loss.label_smoothing == 0.2
    # Balanced weights n / (k * n_c): the rarer class weighs three times as much.
    assert loss.weight[0] == pytest.approx(3 * loss.weight[1])
    plain, _ = make_loop(model, tokenizer, texts, [head], targets,
                         replace(FAST, class_weights=False), torch.device("cpu"), 2)
    assert plain.loss_fns[0].label_smoothing == 0.0 and plain.loss_fns[0].weight is None


def test_layer_decay_gives_lower_layers_smaller_learning_rates(tiny_base: Path) -> None:
    import torch

    from monitor.scoring.base_model import load_base_for_classification, resolve_base_model
    from training.loop import Head, make_loop

    model, tokenizer = load_base_for_classification(resolve_base_model(str(tiny_base)),
                                                    SENTIMENT_LABELS)
    n_layers = len(model.base_model.encoder.layer)
    texts, targets = ["acme misses", "board meets"], [[0, 1]]
    params = replace(FAST, lr=1e-3, layer_decay=0.5)
    loop, _ = make_loop(model, tokenizer, texts, [Head("sentiment", SENTIMENT_LABELS)],
                        targets, params, torch.device("cpu"), 2)
    # The scheduler starts in warm-up, so compare the rates it was given, not the current ones.
    rate = {id(p): g["initial_lr"] for g in loop.optimizer.param_groups for p in g["params"]}
    named = dict(model.named_parameters())

    def lr_of(name: str) -> float:
        return rate[id(named[name])]

    assert lr_of("classifier.weight") == pytest.approx(1e-3)
    top = f"bert.encoder.layer.{n_layers - 1}.attention.self.query.weight"
    assert lr_of(top) == pytest.approx(1e-3 * 0.5)
    assert lr_of("bert.encoder.layer.0.attention.self.query.weight") == pytest.approx(
        1e-3 * 0.5 ** n_layers)
    assert lr_of("bert.embeddings.position_embeddings.weight") == pytest.approx(
        1e-3 * 0.5 ** (n_layers + 1))
    # Frozen word embeddings are in no group; biases and LayerNorms keep no weight decay.
    assert id(named["bert.embeddings.word_embeddings.weight"]) not in rate
    decays = {id(p): g["weight_decay"] for g in loop.optimizer.param_groups
              for p in g["params"]}
    assert decays[id(named[top.replace("weight", "bias")])] == 0.0
    assert decays[id(named[top])] == FAST.weight_decay
    plain, _ = make_loop(model, tokenizer, texts, [Head("sentiment", SENTIMENT_LABELS)],
                         targets, FAST, torch.device("cpu"), 2)
    assert {g["initial_lr"] for g in plain.optimizer.param_groups} == {FAST.lr}


def test_rdrop_runs_the_batch_twice_and_adds_the_symmetric_kl(tiny_base: Path) -> None:
    import torch

    from monitor.scoring.base_model import load_base_for_classification, resolve_base_model
    from training.loop import IGNORE, Head, _batch_loss, make_loop, train_epoch

    model, tokenizer = load_base_for_classification(resolve_base_model(str(tiny_base)),
                                                    SENTIMENT_LABELS)
    head = Head("sentiment", SENTIMENT_LABELS)
    texts = ["acme misses", "board meets", "report due", "results date"]
    loop, _ = make_loop(model, tokenizer, texts, [head], [[0, 1, 2, IGNORE]],
                        replace(FAST, rdrop=2.0, class_weights=False), torch.device("cpu"), 2)
    idx = [0, 1, 2, 3]
    y = torch.tensor([0, 1, 2])
    same = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [0.0, -2.0, 1.0], [9.0, 9.0, 9.0]])
    # Two identical copies: no divergence, the loss is the plain cross-entropy.
    plain = torch.nn.functional.cross_entropy(same[:3], y)
    assert _batch_loss(loop, torch.cat([same, same]), idx).item() == pytest.approx(plain.item())
    other = same.clone()
    other[0] = torch.tensor([-1.0, 0.0, 2.0])
    p, q = same[:3].softmax(-1), other[:3].softmax(-1)
    kl = ((p * (p / q).log()).sum(-1) + (q * (q / p).log()).sum(-1)).mean() / 2
    ce = (torch.nn.functional.cross_entropy(torch.cat([same[:3], other[:3]]), y.repeat(2)))
    # The unlabelled row (IGNORE) adds to neither part, whatever its logits.
    got = _batch_loss(loop, torch.cat([same, other]), idx).item()
    assert got == pytest.approx((ce + 2.0 * kl).item(), rel=1e-5)

    seen: list[int] = []
    model.register_forward_hook(lambda m, a, kw, out: seen.append(kw["input_ids"].shape[0]),
                                with_kwargs=True)
    train_epoch(loop, [[0, 1]], "rdrop", progress=False)
    assert seen == [4]  # one pass over both copies of the 2-row batch
    with pytest.raises(DataError, match="R-Drop weight .* got -1"):
        check_params(replace(FAST, rdrop=-1.0))


def test_weight_average_is_what_validation_reads_and_fit_keeps(tiny_base: Path,
                                                               monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import torch

    import training.optim as loop_module
    import training.train as train_module
    from monitor.scoring.base_model import load_base_for_classification, resolve_base_model
    from training.data import Example
    from training.train import fit

    # Record the trainable weights after every optimiser step, as the optimiser left them.
    steps: list[list[torch.Tensor]] = []
    real_step = loop_module._optimizer_step

    def recording_step(loss, optimizer, scheduler, scaler, trainable):  # type: ignore[no-untyped-def]
        real_step(loss, optimizer, scheduler, scaler, trainable)
        steps.append([p.detach().clone() for p in trainable])

    monkeypatch.setattr(loop_module, "_optimizer_step", recording_step)
    # And the weights of the model that validation scores.
    validated: list[list[torch.Tensor]] = []
    real_evaluate = train_module.evaluate_examples

    def recording_evaluate(model, *args, **kwargs):  # type: ignore[no-untyped-def]
        validated.append([p.detach().clone() for p in model.parameters() if p.requires_grad])
        return real_evaluate(model, *args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate_examples", recording_evaluate)
    rows = [("acme misses forecast", "negative"), ("board meets today", "neutral"),
            ("profit jumps", "positive"), ("shares slump", "negative"),
            ("report due monday", "neutral"), ("record revenue", "positive")] * 3
    train = [Example(t, label, "rows", i + 1) for i, (t, label) in enumerate(rows)]
    val = train[:6]
    params = replace(FAST, epochs=1, ema_epochs=2.5)
    decay = 1 - 1 / (2.5 * 3)  # a span of 2.5 epochs of 3 steps
    model, tokenizer = load_base_for_classification(resolve_base_model(str(tiny_base)),
                                                    SENTIMENT_LABELS, seed=FAST.seed)
    result = fit(model, tokenizer, train, val, SENTIMENT_LABELS, params,
                 device=torch.device("cpu"), progress=False)
    assert len(steps) == 3  # 18 rows in batches of 8
    # The average starts at the first step's weights, then moves (1 - decay) towards each.
    expected = steps[0]
    for after in steps[1:]:
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, after, strict=True)]
    kept = [p.detach() for p in result.model.parameters() if p.requires_grad]
    for got, want in zip(kept, expected, strict=True):
        assert torch.allclose(got, want, atol=1e-6)
    assert any(not torch.allclose(got, last) for got, last in zip(kept, steps[-1], strict=True))
    # Validation scored the average, not the last weights.
    assert len(validated) == 1
    for seen, want in zip(validated[0], expected, strict=True):
        assert torch.allclose(seen, want, atol=1e-6)
    with pytest.raises(DataError, match=r"--ema \(the weight average's span in epochs\) .*"
                                         r"got -0.5"):
        check_params(replace(FAST, ema_epochs=-0.5))


def test_weight_average_spans_about_the_given_epochs() -> None:
    from training.loop import ema_decay

    assert ema_decay(1.0, 100) == pytest.approx(0.99)  # FPB: ~87 steps an epoch at batch 32
    assert ema_decay(2.0, 50) == pytest.approx(0.99)
    assert ema_decay(1.0, 1) == 0.0 and ema_decay(0.0, 500) == 0.0  # nothing to average


def test_no_weight_average_when_off(tiny_base: Path) -> None:
    from monitor.scoring.base_model import load_base_for_classification, resolve_base_model
    from training.loop import Head, make_loop

    model, tokenizer = load_base_for_classification(resolve_base_model(str(tiny_base)),
                                                    SENTIMENT_LABELS)
    texts = ["acme misses", "board meets", "report due", "results date"]
    head = [Head("sentiment", SENTIMENT_LABELS)]
    off, _ = make_loop(model, tokenizer, texts, head, [[0, 1, 2, 1]], replace(FAST, ema_epochs=0.0),
                       torch.device("cpu"), 2)
    assert off.ema is None and off.scored is model
    on, _ = make_loop(model, tokenizer, texts, head, [[0, 1, 2, 1]], replace(FAST, ema_epochs=1.0),
                      torch.device("cpu"), 1)
    assert on.scored is not model and on.scored is on.ema.module
