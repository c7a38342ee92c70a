"""Loading and validating labelled data: formats, label maps, clear errors, splits, DB labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training_helpers import sentiment_rows, write_csv

from monitor.config_sections import DEFAULT_TOPICS
from monitor.errors import DataError
from monitor.store.labels import list_labels, save_label
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW
from training.data import load_labelled, stratified_split, task_labels
from training.labels_map import parse_label_map


def load(paths: list[Path], **kw: object):  # type: ignore[no-untyped-def]
    return load_labelled(paths, "sentiment", SENTIMENT_LABELS, **kw)  # type: ignore[arg-type]


def test_csv_columns_detected_by_common_names(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "d.csv", [("x", "Acme profit rises", "Positive"),
                                       ("y", "Acme loss widens", "negative")],
                  header=("id", "Headline", "Sentiment"))
    data = load([f])
    assert [(e.text, e.label, e.line) for e in data.examples] == [
        ("Acme profit rises", "positive", 2), ("Acme loss widens", "negative", 3)]
    assert data.sources[0].rows == 2 and len(data.sources[0].sha256 or "") == 64


def test_tsv_and_jsonl_and_explicit_columns(tmp_path: Path) -> None:
    tsv = write_csv(tmp_path / "d.tsv", [("a, with comma", "neutral")],
                    header=("sentence", "label"), delimiter="\t")
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"body": "rates rise", "mood": "negative"}\n\n'
                     '{"body": "rates fall", "mood": "positive"}\n', encoding="utf-8")
    assert [e.text for e in load([tsv]).examples] == ["a, with comma"]
    data = load([jsonl], text_column="body", label_column="mood")
    assert [(e.label, e.line) for e in data.examples] == [("negative", 1), ("positive", 3)]


def test_phrasebank_txt_latin1(tmp_path: Path) -> None:
    f = tmp_path / "Sentences_50Agree.txt"
    f.write_bytes("Net sales rose 5 % in Espoo@positive\nThe caf\xe9 closed @ noon@negative\n"
                  .encode("latin-1"))
    data = load([f])
    assert [(e.text, e.label) for e in data.examples] == [
        ("Net sales rose 5 % in Espoo", "positive"), ("The café closed @ noon", "negative")]


def test_label_map_string_and_json_file(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "t.csv", [("up", "1"), ("down", "0"), ("flat", "2")])
    m = parse_label_map("0=negative, 1=positive ,2=neutral")
    assert [e.label for e in load([f], label_map=m).examples] == ["positive", "negative",
                                                                  "neutral"]
    j = tmp_path / "map.json"
    j.write_text(json.dumps({"0": "Negative", "1": "positive", "2": "neutral"}), "utf-8")
    assert parse_label_map(str(j)) == {"0": "Negative", "1": "positive", "2": "neutral"}
    assert [e.label for e in load([f], label_map=parse_label_map(str(j))).examples][1] == \
        "negative"


def test_synonyms_need_a_label_map(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "s.csv", [("up", "bullish"), ("down", "Bearish")])
    with pytest.raises(DataError) as err:
        load([f])
    msg = str(err.value)
    assert "s.csv line 2: unknown label 'bullish'" in msg and "--label-map" in msg
    assert "s.csv line 3: unknown label 'Bearish'" in msg
    data = load([f], label_map=parse_label_map("bullish=positive,bearish=negative"))
    assert [e.label for e in data.examples] == ["positive", "negative"]


@pytest.mark.parametrize(("spec", "needle"), [
    ("0negative", "not RAW=LABEL"),
    ("0=negative,0=positive", "maps '0' twice"),
])
def test_bad_label_map_specs(spec: str, needle: str) -> None:
    with pytest.raises(DataError, match=needle):
        parse_label_map(spec)


def test_label_map_target_must_be_a_task_label(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "s.csv", [("up", "1")])
    with pytest.raises(DataError, match="maps '1' to 'bullish', which is not a label"):
        load([f], label_map={"1": "bullish"})


def test_empty_text_names_file_and_line(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "e.csv", [("fine", "neutral"), ("   ", "neutral")])
    with pytest.raises(DataError, match=r"e\.csv line 3: empty text"):
        load([f])


def test_empty_label_names_file_and_line(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "e.csv", [("fine", "neutral"), ("shares slump", "  ")])
    with pytest.raises(DataError, match=r"e\.csv line 3: empty label; give this row"):
        load([f])


def test_conflicting_duplicates_name_both_places(tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a.csv", [("Rates  rise", "negative")])
    b = write_csv(tmp_path / "b.csv", [("other", "neutral"), ("Rates rise", "positive")])
    with pytest.raises(DataError) as err:
        load([a, b])
    assert "b.csv line 3: text 'Rates rise' is labelled 'positive' here but 'negative' at" \
        in str(err.value) and "a.csv line 2" in str(err.value)


def test_exact_duplicates_are_kept_once(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "d.csv", [("same", "neutral"), ("same", "neutral")])
    assert len(load([f]).examples) == 1


def test_too_few_examples_per_class_says_how_many(tmp_path: Path) -> None:
    rows = [(f"up {i}", "positive") for i in range(5)] + [("down", "negative")]
    f = write_csv(tmp_path / "few.csv", rows)
    with pytest.raises(DataError) as err:
        load([f], min_per_class=4)
    msg = str(err.value)
    assert "'negative' has 1" in msg and "'neutral' has 0" in msg and "at least 4" in msg


def test_missing_column_lists_columns_found(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "c.csv", [("a", "b")], header=("body", "mood"))
    with pytest.raises(DataError, match=r"no text column .* columns found: 'body', 'mood'"):
        load([f])
    with pytest.raises(DataError, match=r"no column 'label_x' \(given with --label-column\)"):
        load([f], text_column="body", label_column="label_x")


def test_wrong_encoding_names_line(tmp_path: Path) -> None:
    f = tmp_path / "l1.csv"
    f.write_bytes("text,label\nok,neutral\ncaf\xe9 opens,neutral\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"l1\.csv line 3: not UTF-8 text .*re-save"):
        load([f])


def test_bad_json_line_and_unknown_extension(tmp_path: Path) -> None:
    j = tmp_path / "x.jsonl"
    j.write_text('{"text": "a", "label": "neutral"}\n{"text": \n', encoding="utf-8")
    with pytest.raises(DataError, match=r"x\.jsonl line 2: not valid JSON"):
        load([j])
    x = tmp_path / "x.xlsx"
    x.write_bytes(b"")
    with pytest.raises(DataError, match="unsupported file type '.xlsx'"):
        load([x])
    with pytest.raises(DataError, match="not found"):
        load([tmp_path / "missing.csv"])


def test_fpb_line_without_separator(tmp_path: Path) -> None:
    f = tmp_path / "fpb.txt"
    f.write_text("good@positive\nno separator here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"fpb\.txt line 2: no '@' separator"):
        load([f])


def test_topic_labels_from_config_and_column_preference(tmp_path: Path) -> None:
    assert task_labels("topic") == DEFAULT_TOPICS
    f = write_csv(tmp_path / "b.csv", [("Fed holds rates", "neutral", "fed | central banks")],
                  header=("text", "sentiment", "topic"))
    data = load_labelled([f], "topic", DEFAULT_TOPICS)
    assert data.examples[0].label == "Fed | Central Banks"
    assert load([f]).examples[0].label == "neutral"
    with pytest.raises(DataError, match="unknown task"):
        task_labels("emotion")


def test_stratified_split_is_deterministic_and_order_free(tmp_path: Path) -> None:
    rows = sentiment_rows(12)
    a = load([write_csv(tmp_path / "a.csv", rows)]).examples
    b = load([write_csv(tmp_path / "b.csv", list(reversed(rows)))]).examples
    train_a, val_a = stratified_split(a, 0.25, seed=7)
    train_b, val_b = stratified_split(b, 0.25, seed=7)
    assert [e.text for e in val_a] == [e.text for e in val_b]
    assert sorted(e.text for e in train_a) == sorted(e.text for e in train_b)
    assert {e.label for e in val_a} == set(SENTIMENT_LABELS)
    assert all(sum(e.label == lab for e in val_a) == 3 for lab in SENTIMENT_LABELS)
    _, val_c = stratified_split(a, 0.25, seed=8)
    assert [e.text for e in val_c] != [e.text for e in val_a]
    assert not {e.text for e in val_a} & {e.text for e in train_a}
    with pytest.raises(DataError, match="between 0 and 1"):
        stratified_split(a, 1.5, seed=1)


def test_labels_from_database(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        save_label(conn, text="Acme  profit rises", task="sentiment", label="positive", now=NOW)
        save_label(conn, text="Acme loss", task="sentiment", label="negative", now=NOW)
        save_label(conn, text="Acme loss", task="topic", label="Earnings", now=NOW)
    f = write_csv(tmp_path / "f.csv", [("file row", "neutral")])
    data = load([f], engine=engine)
    assert [(e.text, e.label, e.source) for e in data.examples] == [
        ("file row", "neutral", str(f)), ("Acme profit rises", "positive", "database:labels"),
        ("Acme loss", "negative", "database:labels")]
    assert data.sources[-1].path == "database:labels" and data.sources[-1].rows == 2
    with engine.connect() as conn:
        assert [r.label for r in list_labels(conn, "topic")] == ["Earnings"]


def test_database_label_errors_name_the_label_row(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        save_label(conn, text="x", task="sentiment", label="happy", now=NOW)
    with pytest.raises(DataError, match=r"database:labels line 1: unknown label 'happy'"):
        load([], engine=engine)


def test_no_database_labels_is_a_clear_error(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="no sentiment labels yet"):
        load([], engine=engine)


def test_skip_invalid_drops_bad_rows_and_every_conflicting_text(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture
                                                                ) -> None:
    rows = [("profit rises", "positive"), ("https://t.co/abc", "neutral"),
            ("same text", "positive"), ("shares slump", "bearish"), ("same text", "negative"),
            ("board meets", "neutral")]
    f = write_csv(tmp_path / "noisy.csv", rows)
    with pytest.raises(DataError, match="3 problem"):
        load_labelled([f], "sentiment", SENTIMENT_LABELS)
    with caplog.at_level("WARNING"):
        data = load_labelled([f], "sentiment", SENTIMENT_LABELS, skip_invalid=True)
    assert [(e.text, e.label) for e in data.examples] == [("profit rises", "positive"),
                                                          ("board meets", "neutral")]
    assert "skipped 3 invalid row(s) (and 1 text(s) with conflicting labels)" in caplog.text
    assert "noisy.csv line 3: empty text" in caplog.text
