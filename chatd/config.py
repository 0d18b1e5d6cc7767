"""Typed settings, read once: a TOML file, then ``CHATD_SECTION__KEY`` environment overrides.

Every key and its default is documented in ``config.example.toml``; a test keeps the two equal.

Paths: a relative path written in the config file is relative to that file's directory; one from the
environment or the built-in default is relative to the working directory. ``server.data_dir`` holds
everything chatd keeps on disk, and the default database (``database.url`` empty) is ``chatd.db`` in it,
so ``serve`` and every other command agree on one database as long as they agree on the data directory
(docs/operations.md, "Where chatd keeps its data"). ``load_settings`` returns every path absolute.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

ENV_PREFIX = "CHATD_"
#: ``CHATD_*`` variables that are not settings: anything else without ``__`` is a typo, and is refused.
ENV_OTHERS = frozenset({"CHATD_CONFIG", "CHATD_ADMIN_PASSWORD", "CHATD_TOKEN"})
ENV_OTHER_PREFIXES = ("CHATD_TEST_", "CHATD_BENCH_")
SQLITE_PREFIX = "sqlite+aiosqlite://"
DEFAULT_DATABASE = "chatd.db"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    allowed_origins: list[str] = Field(default_factory=list)
    data_dir: str = "var"
    node_id: int = Field(0, ge=0, le=1023)
    secret_key: str = ""
    trusted_proxies: list[str] = Field(default_factory=list)
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    access_log: bool = False
    workers: int = Field(1, ge=1, le=64)
    forwarded_allow_ips: list[str] = Field(default_factory=list)


    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
        return value


class DatabaseSettings(_Section):
    url: str = ""
    pool_size: int = Field(10, ge=1)
    echo: bool = False
    sqlite_synchronous: str = "FULL"
    #: PostgreSQL: seconds one statement may wait for the server's answer, and a new connection for its
    #: handshake, before the request answers 503 (a server that hangs rather than refuses: frozen, or cut off
    #: by a partition). 0 lifts the statement limit; schema migrations run without it.
    command_timeout: float = Field(30.0, ge=0)
    connect_timeout: float = Field(10.0, gt=0)

    @field_validator("sqlite_synchronous")
    @classmethod
    def _sync_level(cls, value: str) -> str:
        if value.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("must be FULL, NORMAL or EXTRA")
        return value.upper()

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith((SQLITE_PREFIX, "postgresql+asyncpg://")):
            raise ValueError("must be empty (chatd.db in server.data_dir), sqlite+aiosqlite:///FILE or postgresql+asyncpg://…")
        return value


class BusSettings(_Section):
    url: str = ""
    socket_timeout_seconds: float = Field(2.0, gt=0)
    outbox_size: int = Field(10_000, ge=1)
    publish_budget_seconds: float = Field(1.0, gt=0)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "memory://")):
            raise ValueError("must be empty, memory://, redis:// or rediss://")
        return value


class AuthSettings(_Section):
    session_ttl_days: float = Field(30.0, gt=0)
    login_max_failures: int = Field(5, ge=1)
    login_account_max_failures: int = Field(20, ge=1)
    login_address_max_failures: int = Field(50, ge=1)
    login_delay_seconds: float = Field(1.0, gt=0)
    login_max_delay_seconds: float = Field(900.0, gt=0)
    login_window_seconds: float = Field(300.0, gt=0)
    cookie_secure: bool = False
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=8)
    credential_cache_seconds: float = Field(5.0, ge=0)


class LimitSettings(_Section):
    message_max_chars: int = Field(40_000, ge=1)
    body_max_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    upload_max_bytes: int = Field(25 * 1024 * 1024, ge=1)
    page_size_max: int = Field(200, ge=1)
    writes_per_second: float = Field(20.0, gt=0)
    write_burst: int = Field(300, ge=1)
    file_grace_days: float = Field(7.0, ge=0)
    search_window: int = Field(1000, ge=1)
    search_budget_ms: int = Field(100, ge=1)


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


class DirectorySettings(_Section):
    member_emails: bool = False


class CompatSettings(_Section):
    crust_envelope: bool = False


class Settings(_Section):
    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    websocket: WebsocketSettings = Field(default_factory=WebsocketSettings)
    directory: DirectorySettings = Field(default_factory=DirectorySettings)
    compat: CompatSettings = Field(default_factory=CompatSettings)
    _config_file: Path | None = PrivateAttr(default=None)

    @property
    def data_path(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def config_file(self) -> Path | None:
        """The TOML file these settings were read from, if any."""
        return self._config_file

    @property
    def sqlite_path(self) -> Path | None:
        """The database file, for SQLite on disk; None for PostgreSQL and in-memory SQLite."""
        return sqlite_file(self.database.url)


class ConfigError(Exception):
    """A bad configuration value; ``str()`` is one line naming the key."""


def _not_a_setting(name: str) -> str | None:
    """Why ``name`` (a ``CHATD_*`` variable without ``__``) is refused, or None when chatd reads it elsewhere."""
    if name in ENV_OTHERS or name.startswith(ENV_OTHER_PREFIXES):
        return None
    rest = name[len(ENV_PREFIX):].lower()
    for section in Settings.model_fields:
        if rest.startswith(section + "_"):
            guess = f"{ENV_PREFIX}{section.upper()}__{rest[len(section) + 1:].upper()}"
            return f"{name}: not a chatd setting; did you mean {guess}? (two underscores between section and key)"
    return f"{name}: not a chatd setting (settings are {ENV_PREFIX}SECTION__KEY, e.g. {ENV_PREFIX}DATABASE__URL)"


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``CHATD_DATABASE__URL=…`` becomes ``{"database": {"url": "…"}}``; lists are comma-separated. An empty
    variable counts as unset (``VAR=`` in a shell or unit file leaves the file's value alone)."""
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or value == "":
            continue
        if "__" not in name:
            problem = _not_a_setting(name)
            if problem:
                raise ConfigError(problem)
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


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite+aiosqlite:///FILE`` URL (None for PostgreSQL or ``:memory:``)."""
    if not url.startswith(SQLITE_PREFIX):
        return None
    database = url[len(SQLITE_PREFIX):].split("?", 1)[0]
    if not database.startswith("/") or database in ("/", "/:memory:"):
        return None
    return Path(database[1:])


def _absolute_sqlite(url: str, base: Path) -> str:
    """The URL with a relative SQLite file made absolute against ``base``."""
    found = sqlite_file(url)
    if found is None or found.is_absolute():
        return url
    query = url.partition("?")[2]
    return f"{SQLITE_PREFIX}/{base / found}" + (f"?{query}" if query else "")


def _anchor_file_paths(raw: dict[str, Any], base: Path) -> None:
    """Paths written in a config file are relative to the file's directory."""
    server, database = raw.get("server"), raw.get("database")
    if isinstance(server, dict) and isinstance(server.get("data_dir"), str):
        server["data_dir"] = str(base / server["data_dir"])
    elif not isinstance(server, dict) or "data_dir" not in server:
        raw.setdefault("server", {})
        if isinstance(raw["server"], dict):
            raw["server"]["data_dir"] = str(base / ServerSettings.model_fields["data_dir"].default)
    if isinstance(database, dict) and isinstance(database.get("url"), str):
        database["url"] = _absolute_sqlite(database["url"], base)


def _anchor(settings: Settings) -> Settings:
    """Make every remaining relative path absolute (against the working directory); fill the default database."""
    settings.server.data_dir = str(Path(os.path.abspath(settings.server.data_dir)))
    if not settings.database.url:
        settings.database.url = f"{SQLITE_PREFIX}/{settings.data_path / DEFAULT_DATABASE}"
    settings.database.url = _absolute_sqlite(settings.database.url, Path.cwd())
    return settings


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if any) and the environment; raise ConfigError naming the first bad key."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    path = path or environ.get("CHATD_CONFIG")
    config_file: Path | None = None
    if path:
        config_file = Path(os.path.abspath(path))
        try:
            raw = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path}: not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        _anchor_file_paths(raw, config_file.parent)
    raw = _merge(raw, _env_overrides(environ))
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{key}: {first['msg']}") from None
    settings._config_file = config_file
    return _anchor(settings)


def masked_url(url: str) -> str:
    """The URL with its password replaced by ``***``, for anything printed or logged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
