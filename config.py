"""Settings of the service (SPEC section 4), read once from the environment and `.env`.

One immutable object carries every setting so that tests can build an app with their own
values (`Config(database_url=...)`) instead of patching the process environment.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'store_monitor.sqlite'}"
REPORT_BACKENDS = ("threads", "celery")
BROKER_SCHEMES = ("amqp", "amqps", "pyamqp", "redis", "rediss")  # RabbitMQ and Redis (SPEC 6)
LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


Number = TypeVar("Number", int, float)


def _int_setting(values: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    return _number_setting(values, name, default, minimum, int, "a whole number")


def _float_setting(values: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    return _number_setting(values, name, default, minimum, float, "a number")


def _number_setting(values: Mapping[str, str], name: str, default: Number, minimum: Number,
                    kind: Callable[[str], Number], what: str) -> Number:
    """`name` read as `kind`, at least `minimum` (NaN is refused: it is at least nothing)."""
    raw = values.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
    if not value >= minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _share_setting(values: Mapping[str, str], name: str, default: float) -> float:
    """A share of the time: from 0.01 to 1."""
    value = _float_setting(values, name, default, 0.01)
    if value > 1:
        raise ConfigError(f"{name} is a share of the time, at most 1, got {value}")
    return value


def _bool_setting(values: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (values.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {values.get(name)!r}")


def _text_setting(values: Mapping[str, str], name: str) -> str | None:
    raw = (values.get(name) or "").strip()
    return raw or None


def _dir_setting(values: Mapping[str, str], name: str, default: Path) -> Path:
    raw = values.get(name)
    path = Path(raw.strip()) if raw and raw.strip() else default
    return path if path.is_absolute() else (Path.cwd() / path)


def is_loopback_host(host: str) -> bool:
    """AUTH_REQUIRED defaults to false only where nobody else can reach the port (SPEC 8)."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    csv_dir: Path = PROJECT_ROOT / "csv_files"
    report_dir: Path = PROJECT_ROOT / "report_data"
    reload_interval_seconds: int = 3600
    report_workers: int = 4
    host: str = "127.0.0.1"
    port: int = 5000
    # SPEC 6: where report work runs.
    report_backend: str = "threads"
    broker_url: str | None = None
    report_shards: int = 4
    job_lease_seconds: int = 60
    # SPEC 7: webhooks.
    webhook_secret: str | None = None
    webhook_allow_private: bool = False
    # SPEC 8: access control; None = decided by `host` (see `auth_is_required`).
    auth_required: bool | None = None
    trigger_rate_limit: str = "30/minute"
    rate_limit_storage_url: str = "memory://"
    # Ingestion: how long a snapshot file must stay unchanged before the service loads it.
    load_settle_seconds: float = 2.0
    # Polls older than this many days (before the newest poll) are pruned after a load; 0 = keep all.
    poll_retention_days: int = 400
    # Limits on client input (documented in the README, enforced by the controllers).
    max_store_ids: int = 10_000  # at most services.contract.store_ids.MAX_STORE_IDS
    max_request_bytes: int = 1_000_000
    # SPEC 10: the broker consumer of live polls (`flask --app app consume-polls`); the broker
    # defaults to BROKER_URL.
    poll_queue: str = "store_monitor.polls"
    poll_broker_url: str | None = None
    # Test-only (SPEC 7 tests drive time instead of waiting): "ANCHOR:START:SPEED" for the
    # scheduler's clock, and a factor applied to the webhook retry delays.
    scheduler_clock: str | None = None
    webhook_retry_scale: float = 1.0
    # SPEC 10: an open store without a poll for this long is "stale"; open GET /events streams
    # at once (each holds a server thread).
    stale_after_minutes: int = 120
    event_streams_max: int = 4
    live_share_while_reporting: float = 0.25  # services/priority.py
    # Operations: log lines as text or one JSON object each; /metrics without a key.
    log_format: str = "text"
    metrics_public: bool = False
    # A port where processes without the HTTP API (background, Celery workers) serve /metrics; 0 = none.
    metrics_port: int = 0

    @property
    def auth_is_required(self) -> bool:
        return self.auth_required if self.auth_required is not None else not is_loopback_host(self.host)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv_path: Path | None = None) -> Config:
        """Environment variables win over `.env`, which wins over the defaults."""
        values: dict[str, str] = {}
        env_file = dotenv_path or (Path.cwd() / ".env")
        if env_file.is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if env is None else env)
        url = (values.get("DATABASE_URL") or "").strip() or DEFAULT_DATABASE_URL
        backend = (values.get("REPORT_BACKEND") or "threads").strip().lower()
        if backend not in REPORT_BACKENDS:
            raise ConfigError(f"REPORT_BACKEND must be one of {', '.join(REPORT_BACKENDS)}, got {backend!r}")
        broker_url = _text_setting(values, "BROKER_URL")
        if backend == "celery" and broker_url is None:
            raise ConfigError("REPORT_BACKEND=celery needs BROKER_URL (amqp://… or redis://…)")
        if broker_url is not None and broker_url.split("://", 1)[0].lower() not in BROKER_SCHEMES:
            raise ConfigError(
                f"BROKER_URL must start with one of {', '.join(s + '://' for s in BROKER_SCHEMES)}, got {broker_url!r}"
            )
        auth_raw = (values.get("AUTH_REQUIRED") or "").strip()
        log_format = (values.get("LOG_FORMAT") or "text").strip().lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
        return cls(
            database_url=url,
            csv_dir=_dir_setting(values, "CSV_DIR", PROJECT_ROOT / "csv_files"),
            report_dir=_dir_setting(values, "REPORT_DIR", PROJECT_ROOT / "report_data"),
            reload_interval_seconds=_int_setting(values, "RELOAD_INTERVAL_SECONDS", 3600, 0),
            report_workers=_int_setting(values, "REPORT_WORKERS", 4, 1),
            host=(values.get("HOST") or "127.0.0.1").strip(),
            port=_int_setting(values, "PORT", 5000, 0),
            report_backend=backend,
            broker_url=broker_url,
            report_shards=_int_setting(values, "REPORT_SHARDS", 4, 1),
            job_lease_seconds=_int_setting(values, "JOB_LEASE_SECONDS", 60, 1),
            webhook_secret=_text_setting(values, "WEBHOOK_SECRET"),
            webhook_allow_private=_bool_setting(values, "WEBHOOK_ALLOW_PRIVATE", False),
            auth_required=_bool_setting(values, "AUTH_REQUIRED", False) if auth_raw else None,
            trigger_rate_limit=(values.get("TRIGGER_RATE_LIMIT") or "30/minute").strip(),
            rate_limit_storage_url=_text_setting(values, "RATE_LIMIT_STORAGE_URL") or "memory://",
            load_settle_seconds=_float_setting(values, "LOAD_SETTLE_SECONDS", 2.0, 0.0),
            poll_retention_days=_int_setting(values, "POLL_RETENTION_DAYS", 400, 0),
            poll_queue=_text_setting(values, "POLL_QUEUE") or "store_monitor.polls",
            poll_broker_url=_text_setting(values, "POLL_BROKER_URL"),
            scheduler_clock=_text_setting(values, "SCHEDULER_CLOCK"),
            webhook_retry_scale=_float_setting(values, "WEBHOOK_RETRY_SCALE", 1.0, 0.0),
            stale_after_minutes=_int_setting(values, "STALE_AFTER_MINUTES", 120, 1),
            event_streams_max=_int_setting(values, "EVENT_STREAMS_MAX", 4, 1),
            live_share_while_reporting=_share_setting(values, "LIVE_SHARE_WHILE_REPORTING", 0.25),
            log_format=log_format,
            metrics_public=_bool_setting(values, "METRICS_PUBLIC", False),
            metrics_port=_int_setting(values, "METRICS_PORT", 0, 0),
        )

    def with_changes(self, **changes: Any) -> Config:
        return replace(self, **changes)
