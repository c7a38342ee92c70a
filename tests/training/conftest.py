"""Fixtures for training tests: a tiny random BERT base model saved in a tmp folder, and a
config that trains on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_helpers import SPECIAL, vocab_words

from monitor.config import Config
from tests.conftest import make_config


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer BERT (hidden 32) with a small WordPiece vocab, saved to a folder."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(SPECIAL + vocab_words()) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as `vocab`; a vocab_file argument is ignored and
    # every word would become [UNK].
    words = vocab.read_text(encoding="utf-8").split()
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def config(tmp_path: Path, tiny_base: Path) -> Config:
    """A config with the tiny base and a registry in tmp_path."""
    return make_config(tmp_path, model={"base_model": str(tiny_base),
                                        "registry_dir": str(tmp_path / "models")})
