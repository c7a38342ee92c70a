"""One encoder pass for both tasks: sharing detection, equal probabilities, memo, ONNX, job."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from monitor.config import Config
from monitor.scoring import registry
from monitor.scoring.artifact import LoadedModel, load_version
from monitor.scoring.classifier import TorchClassifier, make_classifier
from monitor.scoring.encoder_match import shares_encoder, why_not_shared
from monitor.scoring.job import score_pending
from monitor.scoring.lexical import Block, LexicalModel
from monitor.scoring.model_cache import ModelCache
from monitor.scoring.onnx_cache import ONNX_DIR, verified_copy
from monitor.scoring.shared import (
    SharedEncoderPair,
    SharedView,
    ensure_shared_onnx,
    make_shared_pair,
    shared_onnx_paths,
    shared_views,
)
from monitor.store.schema import articles, scores
from monitor.text import model_input
from tests.conftest import NOW, make_config
from tests.scoring.conftest import MakePair
from tests.scoring.helpers import (
    HEADLINES,
    LABELS,
    VOCAB,
    MakeVersion,
    add_articles,
    hours_ago,
)

TEXTS = [*HEADLINES, "", "gold", HEADLINES[4] * 3]


def _cfg(tmp_path: Path, registry_dir: Path, **model: object) -> Config:
    return make_config(tmp_path, model={"registry_dir": str(registry_dir), "device": "cpu",
                                        "cpu_int8": False, "batch_size": 4,
                                        "rescore_window_hours": 24, **model})


def _pair(folders: tuple[Path, Path], config: Config) -> SharedEncoderPair:
    pair = make_shared_pair([load_version(f) for f in folders], config)
    assert pair is not None
    return pair


def _max_diff(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    assert [list(x) for x in a] == [list(y) for y in b]
    return max(abs(x[k] - y[k]) for x, y in zip(a, b, strict=True) for k in x)


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


def test_int8_shared_graph_matches_separate_int8_and_is_cached(
        make_pair: MakePair, tmp_path: Path, registry_dir: Path) -> None:
    cfg = _cfg(tmp_path, registry_dir, cpu_int8=True)
    models = [load_version(f) for f in make_pair()]
    pair = make_shared_pair(models, cfg)
    assert pair is not None and pair.backend == "onnx-int8-shared"
    onnx_path, meta_path = shared_onnx_paths(models)
    assert onnx_path == models[0].path / ONNX_DIR / "shared-t1.onnx"  # in the sentiment folder
    meta = json.loads(meta_path.read_text())
    assert meta["fused"] is True and "sentiment=s1:" in meta["source"]
    assert "topic=t1:" in meta["source"]
    views = pair.views()
    for loaded in models:
        separate = make_classifier(loaded, cfg)
        assert separate.backend == "onnx-int8"
        ref, got = separate.predict_proba(TEXTS), views[loaded.task].predict_proba(TEXTS)
        assert _max_diff(got, ref) < 1e-4
        fp32 = TorchClassifier(loaded, batch_size=4).predict_proba(TEXTS)
        agree = [max(a, key=a.__getitem__) == max(b, key=b.__getitem__)
                 for a, b in zip(got, fp32, strict=True)]
        assert sum(agree) >= len(agree) - 2, "int8 labels drift from fp32"
    assert pair.texts_encoded == len(TEXTS)

    # Reused when intact; a damaged or stale copy is rebuilt, never used.
    stamp = onnx_path.stat().st_mtime_ns
    assert ensure_shared_onnx(models) == onnx_path and onnx_path.stat().st_mtime_ns == stamp
    onnx_path.write_bytes(onnx_path.read_bytes()[:2000])
    assert ensure_shared_onnx(models) == onnx_path
    assert verified_copy(onnx_path, meta_path, meta["source"]) == onnx_path
    rebuilt = make_shared_pair(models, cfg)
    assert rebuilt is not None
    assert _max_diff(rebuilt.views()["topic"].predict_proba(TEXTS),
                     views["topic"].predict_proba(TEXTS)) < 1e-6
    meta_path.write_text(json.dumps({**meta, "source": "sentiment=old"}), encoding="utf-8")
    stamp = onnx_path.stat().st_mtime_ns
    assert ensure_shared_onnx(models) == onnx_path and onnx_path.stat().st_mtime_ns != stamp
    assert json.loads(meta_path.read_text())["source"] == meta["source"]
    load_version(models[0].path)  # the version folder itself stays valid


def _rows(engine: Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.guid: dict(r._mapping) for r in conn.execute(select(articles))}


def _versions_scored(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(select(scores.c.task, scores.c.model_version))}


def _current(cache: ModelCache, engine: Engine, config: Config, task: str) -> object:
    active = registry.active_info(engine, task)
    assert active is not None
    return cache.get(active, config, NOW)


def test_job_scores_both_tasks_with_one_pass(engine: Engine, config: Config,
                                             make_pair: MakePair,
                                             caplog: pytest.LogCaptureFixture) -> None:
    s, t = make_pair()
    registry.register_version(engine, config, s, now=NOW)
    registry.register_version(engine, config, t, now=NOW)
    add_articles(engine, "a", hours_ago(1, 2, 3, 50, 0.5, 7))
    cache = ModelCache()
    with caplog.at_level("INFO", logger="monitor.scoring.model_cache"):
        report = score_pending(engine, config, NOW, loader=cache)
    assert report.errors == {}
    assert {r.task: (r.scored, r.backend) for r in report.tasks} == {
        "sentiment": (6, "torch-cpu-shared"), "topic": (6, "torch-cpu-shared")}
    assert any("torch-cpu-shared" in r.getMessage() for r in caplog.records)
    view = _current(cache, engine, config, "sentiment")
    assert isinstance(view, SharedView) and view.pair.texts_encoded == 6  # once per article
    assert _versions_scored(engine) == {("sentiment", "s1"), ("topic", "t1")}
    rows = _rows(engine)
    texts = [model_input(r["title"], r["summary"]) for r in rows.values()]
    sep = {f.parent.name: TorchClassifier(load_version(f), batch_size=4).predict_proba(texts)
           for f in (s, t)}
    for row, p_sent, p_top in zip(rows.values(), sep["sentiment"], sep["topic"], strict=True):
        assert (row["sentiment_version"], row["topic_version"]) == ("s1", "t1")
        assert row["p_negative"] == pytest.approx(p_sent["negative"], abs=1e-5)
        assert row["topic"] == max(p_top, key=p_top.__getitem__)
    # Nothing pending: the cached pair is reused, nothing reloaded or re-run.
    again = score_pending(engine, config, NOW + timedelta(minutes=1), loader=cache)
    assert again.scored == 0 and _current(cache, engine, config, "sentiment") is view


def test_share_encoder_off_scores_separately(engine: Engine, tmp_path: Path,
                                             registry_dir: Path, make_pair: MakePair) -> None:
    cfg = _cfg(tmp_path, registry_dir, share_encoder=False)
    s, t = make_pair()
    registry.register_version(engine, cfg, s, now=NOW)
    registry.register_version(engine, cfg, t, now=NOW)
    add_articles(engine, "a", hours_ago(1, 2))
    report = score_pending(engine, cfg, NOW, loader=ModelCache())
    assert {r.task: (r.scored, r.backend) for r in report.tasks} == {
        "sentiment": (2, "torch-cpu"), "topic": (2, "torch-cpu")}


def test_activating_a_non_sharing_version_falls_back_and_still_scores(
        engine: Engine, config: Config, make_pair: MakePair,
        make_version: MakeVersion) -> None:
    s, t = make_pair()
    registry.register_version(engine, config, s, now=NOW)
    registry.register_version(engine, config, t, now=NOW)
    add_articles(engine, "a", hours_ago(1, 2, 3))
    cache = ModelCache()
    first = score_pending(engine, config, NOW, loader=cache)
    assert {r.backend for r in first.tasks} == {"torch-cpu-shared"}

    later = NOW + timedelta(minutes=5)
    registry.register_version(engine, config, make_version("topic", "t-lone", seed=3), now=later)
    registry.activate(engine, "topic", "t-lone", now=later)
    add_articles(engine, "b", [later])
    report = score_pending(engine, config, later + timedelta(minutes=1), loader=cache)
    assert report.errors == {}
    by_task = {r.task: r for r in report.tasks}
    assert by_task["sentiment"].backend == "torch-cpu" and by_task["sentiment"].scored == 1
    assert by_task["topic"].backend == "torch-cpu" and by_task["topic"].version == "t-lone"
    assert by_task["topic"].scored == 1 and by_task["topic"].rescored == 3
    for task in ("sentiment", "topic"):  # the pair's views were dropped
        assert not isinstance(_current(cache, engine, config, task), SharedView)
    assert {r["topic_version"] for r in _rows(engine).values()} == {"t-lone"}

    # Back to a sharing topic version: the pair is rebuilt.
    registry.activate(engine, "topic", "t1", now=later + timedelta(minutes=2))
    report = score_pending(engine, config, later + timedelta(minutes=3), loader=cache)
    assert {r.backend for r in report.tasks} == {"torch-cpu-shared"}
    assert report.errors == {}


def test_unbuildable_shared_graph_falls_back_to_separate_classifiers(
        engine: Engine, tmp_path: Path, registry_dir: Path, make_pair: MakePair) -> None:
    cfg = _cfg(tmp_path, registry_dir, cpu_int8=True)
    s, t = make_pair()
    (s / ONNX_DIR).write_text("a file where the cache folder should be", encoding="utf-8")
    registry.register_version(engine, cfg, s, now=NOW)
    registry.register_version(engine, cfg, t, now=NOW)
    add_articles(engine, "a", hours_ago(1, 2))
    report = score_pending(engine, cfg, NOW, loader=ModelCache())
    assert report.errors == {}
    assert {r.task: (r.scored, r.backend) for r in report.tasks} == {
        "sentiment": (2, "torch-cpu"), "topic": (2, "onnx-int8")}


def test_a_backlog_larger_than_the_memo_is_still_encoded_once(engine: Engine, config: Config,
                                                              make_pair: MakePair) -> None:
    s, t = make_pair()
    registry.register_version(engine, config, s, now=NOW)
    registry.register_version(engine, config, t, now=NOW)
    add_articles(engine, "a", hours_ago(*range(1, 21)))

    def small_memo(models, cfg):  # type: ignore[no-untyped-def]
        pair = make_shared_pair(models, cfg)
        assert pair is not None
        pair.memo_size = 4
        return pair.views()

    cache = ModelCache(build_pair=small_memo)
    report = score_pending(engine, config, NOW, loader=cache, round_articles=4)
    assert {r.task: r.scored for r in report.tasks} == {"sentiment": 20, "topic": 20}
    view = _current(cache, engine, config, "sentiment")
    assert isinstance(view, SharedView) and view.pair.texts_encoded == 20
    # The same backlog in one round per task: the memo overflows, topic re-encodes.
    add_articles(engine, "b", hours_ago(*range(1, 21)))
    score_pending(engine, config, NOW, loader=cache, round_articles=1_000)
    assert view.pair.texts_encoded == 20 + 20 + 16


def _lexical(labels: tuple[str, ...], seed: int) -> LexicalModel:
    """A hand-made lexical model over a few of the headlines' words."""
    words = ("stocks", "oil", "bank", "dividend", "gold", "fell", "rose")
    rng = np.random.default_rng(seed)
    return LexicalModel(labels, (Block("word", (1, 1), words, np.ones(len(words))),),
                        rng.normal(0, 3, (len(labels), len(words))), np.zeros(len(labels)),
                        weight=0.4)


def test_shared_views_blend_each_versions_own_lexical_model(
        make_pair: MakePair, tmp_path: Path, registry_dir: Path) -> None:
    lex = {task: _lexical(LABELS[task], k) for k, task in enumerate(("sentiment", "topic"))}
    models = [load_version(f) for f in make_pair(lexical=lex)]
    assert all(m.lexical is not None for m in models)
    cfg = _cfg(tmp_path, registry_dir)
    views = shared_views(models, cfg)
    assert views is not None
    raw = _pair((models[0].path, models[1].path), cfg).views()  # type: ignore[arg-type]
    for m in models:
        view = views[m.task]
        assert view.backend == "torch-cpu-shared+lexical" and view.version == m.version
        enc = np.array([[p[k] for k in m.labels] for p in raw[m.task].predict_proba(TEXTS)])
        want = (1 - 0.4) * enc + 0.4 * lex[m.task].proba(TEXTS)
        got = np.array([[p[k] for k in m.labels] for p in view.predict_proba(TEXTS)])
        assert np.allclose(got, want) and not np.allclose(got, enc)


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
