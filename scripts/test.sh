#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine and run it:
# a virtualenv with the pinned packages, a MariaDB server, Chromium for the browser test.
# Extra arguments go to pytest (e.g. scripts/test.sh -k ingestion).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

if PYTHON=.venv/bin/python scripts/ensure_mysql.sh; then
  export MYSQL_TEST_URL=${MYSQL_TEST_URL:-mysql+pymysql://root@127.0.0.1:3306}
elif [ "${CI:-}" = "true" ]; then
  echo "CI: MySQL is required and could not be reached" >&2
  exit 1
else
  echo "warning: no MySQL server; MySQL tests will be skipped" >&2
fi

if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser test" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 || true
fi

exec .venv/bin/python -m pytest "$@"
