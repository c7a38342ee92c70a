"""SharedEncoderPair: one torch encoder pass equals the separate models, its memo, which two
versions may share an encoder, and how far the shared pass reads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from monitor.config import Config
from monitor.scoring.artifact import LoadedModel, load_version
from monitor.scoring.classifier import TorchClassifier
from monitor.scoring.encoder_match import shares_encoder, why_not_shared
from monitor.scoring.shared import SharedEncoderPair, SharedView, make_shared_pair
from tests.scoring.conftest import MakePair
from tests.scoring.helpers import HEADLINES, TEXTS, VOCAB
from tests.scoring.helpers import max_diff as _max_diff
from tests.scoring.helpers import shared_pair as _pair


def test_shared_torch_pass_equals_separate_models_and_runs_once(
        make_pair: MakePair, config: Config) -> None:
    folders = make_pair()
    pair = _pair(folders, config)
    views = pair.views()
    assert pair.backend == "torch-cpu-shared"
    assert {t: v.version for t, v in views.items()} == {"sentiment": "s1", "topic": "t1"}
    shared = {"sentiment": views["sentiment"].predict_proba(TEXTS)}
    assert pair.texts_encoded == len(TEXTS)
    shared["topic"] = views["topic"].predict_proba(TEXTS)
    assert pair.texts_encoded == len(TEXTS)  # served from the memo: no second run
    for folder in folders:
        loaded = load_version(folder)
        separate = TorchClassifier(loaded, batch_size=4).predict_proba(TEXTS)
        assert _max_diff(shared[loaded.task], separate) < 1e-5
    # Texts really are scored differently (so an order mix-up would show).
    assert len({round(p["Markets"], 5) for p in shared["topic"]}) > 3

    # A miss runs only the texts not memoised; the other task then reuses them.
    before = pair.encoder_passes
    assert len(views["topic"].predict_proba(["oil rose", HEADLINES[0]])) == 2
    assert pair.texts_encoded == len(TEXTS) + 2 and pair.encoder_passes == before + 1
    again = views["sentiment"].predict_proba(["oil rose", HEADLINES[0]])
    assert pair.texts_encoded == len(TEXTS) + 2
    assert np.allclose(list(again[1].values()), list(shared["sentiment"][0].values()))


def test_memo_is_bounded_and_evicts_the_oldest(make_pair: MakePair, config: Config) -> None:
    models = [load_version(f) for f in make_pair()]
    full = make_shared_pair(models, config)
    assert full is not None
    pair = SharedEncoderPair(models, full._run, backend="test", batch_size=4, max_length=64,
                             memo_size=3)
    view = SharedView(pair, "topic")
    SharedView(pair, "sentiment").predict_proba(TEXTS[:5])
    assert pair.texts_encoded == 5
    got = view.predict_proba(TEXTS[:5])  # the 2 oldest were evicted: run again
    assert pair.texts_encoded == 7
    ref = TorchClassifier(models[1], batch_size=4).predict_proba(TEXTS[:5])
    assert _max_diff(got, ref) < 1e-5


def test_shares_encoder_needs_identical_encoder_and_tokenizer(
        make_pair: MakePair, registry_dir: Path) -> None:
    same = [load_version(f) for f in make_pair("s1", "t1")]
    assert shares_encoder(*same) and why_not_shared(*same) is None
    tweaked = [load_version(f) for f in make_pair(
        "s2", "t2", tweak="bert.encoder.layer.1.output.dense.bias")]
    assert not shares_encoder(*tweaked)
    assert "bert.encoder.layer.1.output.dense.bias" in str(why_not_shared(*tweaked))
    other_tok = [load_version(f) for f in make_pair("s3", "t3", other_vocab=True)]
    assert not shares_encoder(*other_tok)
    assert why_not_shared(*other_tok) == "tokenizers differ"
    # A version saved before vocab.txt was written beside tokenizer.json still pairs.
    files = {k: v for k, v in same[0].card["files"].items() if k != "vocab.txt"}
    older = replace(same[0], card={**same[0].card, "files": files})
    assert "vocab.txt" in same[1].card["files"] and shares_encoder(older, same[1])
    # ... but not when the files both have differ.
    files = {**files, "tokenizer.json": "0" * 64}
    assert why_not_shared(replace(older, card={**older.card, "files": files}),
                          same[1]) == "tokenizers differ"
    # Two separately initialised models (the ordinary case): not shared.
    lone = load_version(make_pair("s4", "t4", seed=9)[1])
    assert not shares_encoder(same[0], lone)
    assert not shares_encoder(same[0], same[0])  # one task twice


def test_unsupported_model_family_is_not_shareable(make_pair: MakePair, config: Config) -> None:
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    sent = load_version(make_pair()[0])
    cfg = DistilBertConfig(vocab_size=len(VOCAB), dim=32, n_layers=1, n_heads=2,
                           hidden_dim=64, num_labels=5)
    distil = LoadedModel(model=DistilBertForSequenceClassification(cfg).eval(),
                         tokenizer=sent.tokenizer, card=sent.card, labels=tuple("abcde"),
                         version="t-distil", task="topic")
    assert "DistilBertForSequenceClassification" in str(why_not_shared(sent, distil))
    assert make_shared_pair([sent, distil], config) is None


def test_the_shared_pass_reads_as_far_as_the_longer_trained_version(
        make_pair: MakePair, config: Config) -> None:
    from dataclasses import replace

    plain = [load_version(f) for f in make_pair()]
    untold = make_shared_pair(plain, config)  # cards without a length: the config's
    assert untold is not None and untold.max_length == config.model.max_length
    told = [replace(plain[0], card={**plain[0].card, "max_length": 12}),
            replace(plain[1], card={**plain[1].card, "max_length": 20})]
    pair = make_shared_pair(told, config)
    assert pair is not None and pair.max_length == 20

