#!/usr/bin/env bash
# Set up a virtualenv and start the service on the sample data in csv_files/
# (SQLite in the project folder unless DATABASE_URL says otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "creating the virtualenv .venv" >&2
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing Python packages (requirements.txt)…" >&2
  .venv/bin/python -m pip install --disable-pip-version-check --progress-bar on -r requirements.txt \
    | grep --line-buffered -E '^(Collecting|Installing|Successfully)' >&2 || true
  if ! .venv/bin/python -c "import flask, sqlalchemy, pandas, celery" 2>/dev/null; then
    echo "pip could not install requirements.txt; run: .venv/bin/python -m pip install -r requirements.txt" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
exec .venv/bin/python app.py "$@"
