"""A base that is not BERT: a tiny random RoBERTa (byte-level BPE, <s> </s>, position offset)
trains, saves, loads and scores on every CPU path, as a hub encoder would."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from training_helpers import FAST as HELPER_FAST
from training_helpers import sentiment_rows, write_csv

from monitor.config import Config
from monitor.scoring.artifact import load_version
from monitor.scoring.classifier import make_classifier
from monitor.types import SENTIMENT_LABELS
from tests.conftest import NOW, make_config
from training.data import load_labelled
from training.train import train_version

# No lexical blend: the encoder paths themselves are compared.
FAST = replace(HELPER_FAST, lexical=False)


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaModel

    folder = tmp_path_factory.mktemp("tiny-roberta")
    special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([t for t, _ in sentiment_rows(12)] * 3, vocab_size=300,
                            min_frequency=1, special_tokens=special)
    bpe.post_processor = RobertaProcessing(("</s>", bpe.token_to_id("</s>")),
                                           ("<s>", bpe.token_to_id("<s>")))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>")
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=64,
                           max_position_embeddings=130, pad_token_id=tokenizer.pad_token_id,
                           bos_token_id=tokenizer.bos_token_id,
                           eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    RobertaModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_roberta_base_trains_and_scores_alike_on_torch_and_int8(
        tmp_path: Path, engine, tiny_roberta: Path) -> None:  # type: ignore[no-untyped-def]
    config: Config = make_config(tmp_path, model={"base_model": str(tiny_roberta),
                                                  "registry_dir": str(tmp_path / "models")})
    rows = sentiment_rows(12)  # too few steps for a random RoBERTa to learn them: not asserted
    data = load_labelled([write_csv(tmp_path / "train.csv", rows)], "sentiment",
                         SENTIMENT_LABELS)
    out = train_version(config, engine, data, FAST, now=NOW, progress=False)
    loaded = load_version(out.folder)
    assert loaded.model.config.model_type == "roberta"
    assert loaded.tokenizer("acme profit rises")["input_ids"][0] == loaded.tokenizer.bos_token_id

    texts = [t for t, _ in rows]
    fp32 = make_classifier(loaded, make_config(tmp_path, model={"device": "cpu",
                                                                "cpu_int8": False}))
    int8 = make_classifier(loaded, make_config(tmp_path, model={"device": "cpu",
                                                                "cpu_int8": True}))
    assert (fp32.backend, int8.backend) == ("torch-cpu", "onnx-int8")
    a = np.array([[p[k] for k in SENTIMENT_LABELS] for p in fp32.predict_proba(texts)])
    b = np.array([[p[k] for k in SENTIMENT_LABELS] for p in int8.predict_proba(texts)])
    assert np.allclose(a.sum(axis=1), 1, atol=1e-4) and np.allclose(b.sum(axis=1), 1, atol=1e-4)
    assert np.abs(a - b).max() < 0.15  # int8 rounding, not a different model
    assert np.mean(a.argmax(axis=1) == b.argmax(axis=1)) >= 0.9
    # The encoder itself was fine-tuned (not only a head on frozen weights) and saved.
    from transformers import RobertaModel

    base = RobertaModel.from_pretrained(tiny_roberta).state_dict()
    tuned = loaded.model.roberta.state_dict()
    assert not np.allclose(base["encoder.layer.0.attention.self.query.weight"].numpy(),
                           tuned["encoder.layer.0.attention.self.query.weight"].numpy())
