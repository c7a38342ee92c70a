"""Config: validation errors name the key, env overrides, relative paths, redaction, docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from monitor.config import Config, config_from_dict, load_config, redacted_dump
from monitor.errors import ConfigError
from tests.conftest import PROJECT_ROOT


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_config_is_valid_and_has_real_feeds() -> None:
    cfg = load_config(PROJECT_ROOT / "config.toml", env={})
    assert len(cfg.feeds) >= 3
    assert all(f.url.startswith("https://") for f in cfg.feeds)
    assert cfg.fetch.allow_private_addresses is False


def test_unknown_key_is_named(tmp_path: Path) -> None:
    p = _write(tmp_path, "[fetch]\nread_timout = 3\n")
    with pytest.raises(ConfigError, match=r"fetch\.read_timout: unknown key"):
        load_config(p, env={})


def test_wrong_type_is_named_with_value(tmp_path: Path) -> None:
    p = _write(tmp_path, '[[feeds]]\nname = "a"\nurl = "https://x"\npoll_minutes = "often"\n')
    with pytest.raises(ConfigError, match=r"feeds\.0\.poll_minutes: .*'often'"):
        load_config(p, env={})


def test_bad_toml_and_missing_file_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[fetch\n"), env={})
    with pytest.raises(ConfigError, match="not found; pass --config"):
        load_config(tmp_path / "nope.toml", env={})


def test_duplicate_feed_names_rejected(tmp_path: Path) -> None:
    text = '[[feeds]]\nname="a"\nurl="https://x"\n[[feeds]]\nname="a"\nurl="https://y"\n'
    with pytest.raises(ConfigError, match="duplicate feed name 'a'"):
        load_config(_write(tmp_path, text), env={})


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = config_from_dict({}, base_dir=tmp_path, env={})
    with pytest.raises(Exception, match="frozen"):
        cfg.fetch.read_timeout = 1  # type: ignore[misc]


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    sub = tmp_path / "deploy"
    sub.mkdir()
    p = _write(sub, '[database]\nurl = "sqlite:///state/fs.db"\n[model]\nregistry_dir = "m"\n')
    cfg = load_config(p, env={})
    assert cfg.database_url == f"sqlite:///{sub / 'state' / 'fs.db'}"
    assert cfg.registry_path == sub / "m"


def test_env_overrides_database_url_and_config_path(tmp_path: Path) -> None:
    p = _write(tmp_path, "")
    env = {"FINSENTINEL_CONFIG": str(p),
           "FINSENTINEL_DATABASE_URL": "postgresql+psycopg://fs:s3cret@db.local/fs"}
    cfg = load_config(None, env=env)
    assert cfg.database_url.endswith("@db.local/fs")
    dumped = redacted_dump(cfg)
    assert "s3cret" not in str(dumped) and "***" in dumped["database"]["url"]


def _keys(model: type[BaseModel], prefix: str) -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        if name == "base_dir":
            continue
        ann = field.annotation
        inner = getattr(ann, "__args__", (ann,))
        sub = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _keys(ann, f"{prefix}{name}.")
        elif sub is not None:  # a list of tables, e.g. [[feeds]]
            out += _keys(sub, f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def test_every_config_key_is_documented_in_readme_and_config_toml() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    shipped = (PROJECT_ROOT / "config.toml").read_text(encoding="utf-8")
    keys = _keys(Config, "")
    assert len(keys) > 20
    missing_readme = [k for k in keys if f"`{k}`" not in readme]
    assert missing_readme == [], f"config keys missing from README's reference: {missing_readme}"
    # Every leaf key appears (commented or set) in the shipped config.toml.
    missing_toml = [k for k in keys
                    if not re.search(rf"^\s*#?\s*{re.escape(k.rsplit('.', 1)[-1])}\s*=",
                                     shipped, re.M)]
    assert missing_toml == [], f"config keys missing from config.toml: {missing_toml}"
