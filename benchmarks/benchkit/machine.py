"""The machine, the library versions and the MySQL server the results were measured on."""
from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path
from typing import Any

from benchkit.settings import log


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions(python: str) -> dict[str, str]:
    probe = (
        "import json, platform, sqlite3, pandas, numpy, sqlalchemy, flask\n"
        "v = {'python': platform.python_version(), 'pandas': pandas.__version__,"
        " 'numpy': numpy.__version__, 'sqlite': sqlite3.sqlite_version,"
        " 'sqlalchemy': sqlalchemy.__version__, 'flask': flask.__version__}\n"
        "try:\n import pymysql; v['pymysql'] = pymysql.__version__\nexcept ImportError: pass\n"
        "print(json.dumps(v))"
    )
    try:
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
        return json.loads(out.stdout)
    except (subprocess.SubprocessError, ValueError) as exc:
        return {"error": str(exc)}


def mem_total_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------------------------
# MySQL
# --------------------------------------------------------------------------------------------
class MySQL:
    def __init__(self, base_url: str) -> None:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(base_url.replace("mysql+pymysql://", "mysql://", 1))
        self.base_url = base_url.rstrip("/")
        self.kwargs = dict(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                           user=unquote(parts.username or "root"), password=unquote(parts.password or ""))
        self.created: set[str] = set()

    def connect(self) -> Any:
        import pymysql

        return pymysql.connect(connect_timeout=10, autocommit=True, **self.kwargs)

    def version(self) -> str:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            return str(cur.fetchone()[0])

    def fresh(self, name: str) -> str:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            self.created.add(name)
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return f"{self.base_url}/{name}"

    def drop(self, name: str) -> None:
        try:
            with self.connect() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            self.created.discard(name)
        except Exception as exc:  # reported, never fatal: cleanup runs in finally blocks
            log(f"WARNING: could not drop MySQL database {name}: {exc}")

    def drop_all(self) -> None:
        for name in sorted(self.created):
            self.drop(name)
