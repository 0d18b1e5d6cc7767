"""Configuration: the example file documents every key with its default; bad values are named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from chatd.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_lists_every_key_with_its_default() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text())
    defaults = Settings().model_dump()
    assert example == defaults


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "chatd.toml"
    path.write_text('[server]\nport = 9000\nallowed_origins = ["https://a.example"]\n')
    settings = load_settings(path, environ={"CHATD_SERVER__PORT": "9100", "CHATD_SERVER__ALLOWED_ORIGINS": "https://b, https://c"})
    assert settings.server.port == 9100
    assert settings.server.allowed_origins == ["https://b", "https://c"]


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"CHATD_SERVER__PORT": "eighty"}, "server.port"),
        ({"CHATD_SERVER__PORT": "70000"}, "server.port"),
        ({"CHATD_DATABASE__URL": "mysql://x"}, "database.url"),
        ({"CHATD_BUS__URL": "amqp://x"}, "bus.url"),
        ({"CHATD_LIMITS__NOPE": "1"}, "limits.nope"),
        ({"CHATD_NOPE__X": "1"}, "nope"),
    ],
)
def test_a_bad_value_names_its_key(environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    assert key in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chatd.toml"
    path.write_text("[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match="server.prot"):
        load_settings(path, environ={})
