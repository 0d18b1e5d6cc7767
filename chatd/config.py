"""Typed settings, read once: a TOML file, then ``CHATD_SECTION__KEY`` environment overrides.

Every key and its default is documented in ``config.example.toml``; a test keeps the two equal.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "CHATD_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    allowed_origins: list[str] = Field(default_factory=list)
    data_dir: str = "var"
    node_id: int = Field(0, ge=0, le=1023)
    secret_key: str = ""
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    access_log: bool = False


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///var/chatd.db"
    pool_size: int = Field(10, ge=1)
    echo: bool = False
    sqlite_synchronous: str = "FULL"

    @field_validator("sqlite_synchronous")
    @classmethod
    def _sync_level(cls, value: str) -> str:
        if value.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("must be FULL, NORMAL or EXTRA")
        return value.upper()

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class BusSettings(_Section):
    url: str = ""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "memory://")):
            raise ValueError("must be empty, memory://, redis:// or rediss://")
        return value


class AuthSettings(_Section):
    session_ttl_days: float = Field(30.0, gt=0)
    login_max_failures: int = Field(5, ge=1)
    login_window_seconds: float = Field(300.0, gt=0)
    cookie_secure: bool = False
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=8)
    credential_cache_seconds: float = Field(5.0, ge=0)


class LimitSettings(_Section):
    message_max_chars: int = Field(40_000, ge=1)
    upload_max_bytes: int = Field(25 * 1024 * 1024, ge=1)
    page_size_max: int = Field(200, ge=1)
    file_grace_days: float = Field(7.0, ge=0)
    search_window: int = Field(1000, ge=1)
    search_budget_ms: int = Field(500, ge=1)


class WebsocketSettings(_Section):
    ping_interval_seconds: float = Field(30.0, gt=0)
    auth_timeout_seconds: float = Field(5.0, gt=0)
    max_frame_bytes: int = Field(64 * 1024, ge=1024)
    queue_size: int = Field(1000, ge=10)
    rate_limit_per_second: float = Field(20.0, gt=0)
    rate_limit_burst: int = Field(60, ge=1)
    typing_ttl_seconds: float = Field(6.0, gt=0)
    presence_heartbeat_seconds: float = Field(20.0, gt=0)
    compression: bool = False


class CompatSettings(_Section):
    crust_envelope: bool = False


class Settings(_Section):
    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    websocket: WebsocketSettings = Field(default_factory=WebsocketSettings)
    compat: CompatSettings = Field(default_factory=CompatSettings)

    @property
    def data_path(self) -> Path:
        return Path(self.server.data_dir)


class ConfigError(Exception):
    """A bad configuration value; ``str()`` is one line naming the key."""


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``CHATD_DATABASE__URL=…`` becomes ``{"database": {"url": "…"}}``; lists are comma-separated."""
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("__")
        field = Settings.model_fields.get(section)
        section_model = None if field is None else field.annotation
        if not (isinstance(section_model, type) and issubclass(section_model, BaseModel)):
            raise ConfigError(f"{name}: unknown section {section!r}")
        key_field = section_model.model_fields.get(key)
        if key_field is None:
            raise ConfigError(f"{name}: unknown key {section}.{key}")
        parsed: Any = value
        if key_field.annotation == list[str]:
            parsed = [part.strip() for part in value.split(",") if part.strip()]
        tree.setdefault(section, {})[key] = parsed
    return tree


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any) and the environment; raise ConfigError naming the first bad key."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    path = path or environ.get("CHATD_CONFIG")
    if path:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path}: not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
    raw = _merge(raw, _env_overrides(environ))
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{key}: {first['msg']}") from None
