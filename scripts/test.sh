#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine and run it: a virtualenv with the
# pinned packages, MariaDB, RabbitMQ and Redis servers, Chromium for the browser test.
# Extra arguments go to pytest (e.g. scripts/test.sh -k ingestion).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements-dev.sha256
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing Python packages (requirements-dev.txt)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

require() {  # $1: what, $2: message
  if [ "${CI:-}" = "true" ]; then
    echo "CI: $1 is required and could not be reached" >&2
    exit 1
  fi
  echo "warning: $2" >&2
}

if PYTHON=.venv/bin/python scripts/ensure_mysql.sh; then
  export MYSQL_TEST_URL=${MYSQL_TEST_URL:-mysql+pymysql://root@127.0.0.1:3306}
else
  require MySQL "no MySQL server; MySQL tests will be skipped"
fi

if scripts/ensure_brokers.sh; then
  export RABBITMQ_TEST_URL=${RABBITMQ_TEST_URL:-amqp://guest:guest@127.0.0.1:5672/store_monitor_test}
  export REDIS_TEST_URL=${REDIS_TEST_URL:-redis://127.0.0.1:6379/11}
else
  require "RabbitMQ and Redis" "a broker is missing; Celery and shared rate-limit tests will be skipped"
fi

if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium (apt-get, --no-install-recommends) for the browser test" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) >/dev/null 2>&1 || true
fi

# Lint first (pyproject.toml: pyflakes, pycodestyle, bugbear, unused code): seconds, and a
# failure names the line.
.venv/bin/python -m ruff check .

# Two processes (pytest-xdist) on a 2-core machine, up to 4 on bigger ones; tests that share a
# broker queue are grouped onto one process (xdist_group). `-n 0` runs everything in one process.
exec .venv/bin/python -m pytest -n auto --maxprocesses=4 --dist loadgroup "$@"
