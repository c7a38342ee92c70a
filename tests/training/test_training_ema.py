"""The weight average (EMA) of training: what fit keeps and validation scores, its span in
epochs, and no average when it is off."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from training_helpers import FAST

from monitor.errors import DataError
from monitor.types import SENTIMENT_LABELS
from training.data import Example
from training.train import check_params


def _record_steps_and_validation(
        monkeypatch: pytest.MonkeyPatch,
) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    """Patch training to record the trainable weights after every optimiser step, as the
    optimiser left them, and the trainable weights of every model validation scores."""
    import training.optim as loop_module
    import training.train as train_module

    steps: list[list[torch.Tensor]] = []
    real_step = loop_module._optimizer_step

    def recording_step(loss, optimizer, scheduler, scaler, trainable):  # type: ignore[no-untyped-def]
        real_step(loss, optimizer, scheduler, scaler, trainable)
        steps.append([p.detach().clone() for p in trainable])

    monkeypatch.setattr(loop_module, "_optimizer_step", recording_step)
    validated: list[list[torch.Tensor]] = []
    real_evaluate = train_module.evaluate_examples

    def recording_evaluate(model, *args, **kwargs):  # type: ignore[no-untyped-def]
        validated.append([p.detach().clone() for p in model.parameters() if p.requires_grad])
        return real_evaluate(model, *args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate_examples", recording_evaluate)
    return steps, validated


def _eighteen_rows() -> tuple[list[Example], list[Example]]:
    """Six labelled headlines three times over (train), and the first six again (validation)."""
    rows = [("acme misses forecast", "negative"), ("board meets today", "neutral"),
            ("profit jumps", "positive"), ("shares slump", "negative"),
            ("report due monday", "neutral"), ("record revenue", "positive")] * 3
    train = [Example(t, label, "rows", i + 1) for i, (t, label) in enumerate(rows)]
    return train, train[:6]


def test_weight_average_is_what_validation_reads_and_fit_keeps(tiny_base: Path,
                                                               monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import torch

    from monitor.scoring.base_model import load_base_for_classification, resolve_base_model
    from training.train import fit

    steps, validated = _record_steps_and_validation(monkeypatch)
    train, val = _eighteen_rows()
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

