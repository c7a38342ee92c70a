"""The training loop's loss and optimiser settings: label smoothing and class weights in the
loss, layer-wise learning-rate decay and weight-decay groups, R-Drop's doubled batch and KL."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from training_helpers import FAST

from monitor.errors import DataError
from monitor.types import SENTIMENT_LABELS
from training.train import check_params


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

