"""Settings of the service (SPEC section 4), read once from the environment and `.env`.

One immutable object carries every setting so that tests can build an app with their own
values (`Config(database_url=...)`) instead of patching the process environment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'store_monitor.sqlite'}"


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


def _int_setting(values: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = values.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _dir_setting(values: Mapping[str, str], name: str, default: Path) -> Path:
    raw = values.get(name)
    path = Path(raw.strip()) if raw and raw.strip() else default
    return path if path.is_absolute() else (Path.cwd() / path)


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    csv_dir: Path = PROJECT_ROOT / "csv_files"
    report_dir: Path = PROJECT_ROOT / "report_data"
    reload_interval_seconds: int = 3600
    report_workers: int = 4
    host: str = "127.0.0.1"
    port: int = 5000
    # Limits on client input (documented in the README, enforced by the controllers).
    max_store_ids: int = 10_000
    max_store_id_length: int = 255
    max_request_bytes: int = 1_000_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv_path: Path | None = None) -> Config:
        """Environment variables win over `.env`, which wins over the defaults."""
        values: dict[str, str] = {}
        env_file = dotenv_path or (Path.cwd() / ".env")
        if env_file.is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if env is None else env)
        url = (values.get("DATABASE_URL") or "").strip() or DEFAULT_DATABASE_URL
        return cls(
            database_url=url,
            csv_dir=_dir_setting(values, "CSV_DIR", PROJECT_ROOT / "csv_files"),
            report_dir=_dir_setting(values, "REPORT_DIR", PROJECT_ROOT / "report_data"),
            reload_interval_seconds=_int_setting(values, "RELOAD_INTERVAL_SECONDS", 3600, 0),
            report_workers=_int_setting(values, "REPORT_WORKERS", 4, 1),
            host=(values.get("HOST") or "127.0.0.1").strip(),
            port=_int_setting(values, "PORT", 5000, 0),
        )

    def with_changes(self, **changes: Any) -> Config:
        return replace(self, **changes)
