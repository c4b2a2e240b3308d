#!/usr/bin/env bash
# The two entry points of the README:
#   ./run.sh demo   set up .venv if missing, then train + evaluate on the embedded synthetic dataset
#   ./run.sh test   set up .venv if missing, then check style (ruff, pyproject.toml) and run the test suite
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}

setup() {
  # Re-install only when a requirements file changed since the last set-up.
  if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.requirements.sha" ] \
     || ! sha1sum -c --status "$VENV/.requirements.sha" 2>/dev/null; then
    python3 -m venv "$VENV"
    # One resolver run for both files: the export tools pin some shared dependencies.
    echo "setting up $VENV (a few minutes; log in $VENV/pip-install.log)" >&2
    if ! "$VENV/bin/pip" install --quiet -r requirements.txt -r requirements-export.txt \
        > "$VENV/pip-install.log" 2>&1; then
      grep -v "^WARNING: Location" "$VENV/pip-install.log" >&2
      exit 1
    fi
    sha1sum requirements.txt requirements-export.txt > "$VENV/.requirements.sha"
  fi
}

case "${1:-}" in
  demo) setup; shift; exec "$VENV/bin/python" -m tools.demo "$@" ;;
  test) setup; shift; "$VENV/bin/ruff" check . && exec "$VENV/bin/python" -m pytest -q tests "$@" ;;
  setup) setup ;;
  *) echo "usage: ./run.sh demo|test|setup [extra args]" >&2; exit 2 ;;
esac
