#!/usr/bin/env bash
# Set up a virtualenv and start the service on the sample data in csv_files/
# (SQLite in the project folder unless DATABASE_URL says otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
exec .venv/bin/python app.py "$@"
