#!/usr/bin/env bash
# The two entry points of the README:
#   ./run.sh demo   set up .venv if missing, then train + evaluate on the embedded synthetic dataset
#   ./run.sh test   set up .venv if missing, then run the test suite
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}

setup() {
  if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.requirements.sha" ] \
     || ! sha1sum -c --status "$VENV/.requirements.sha" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet -r requirements.txt
    sha1sum requirements.txt > "$VENV/.requirements.sha"
  fi
}

case "${1:-}" in
  demo) setup; shift; exec "$VENV/bin/python" -m tools.demo "$@" ;;
  test) setup; shift; exec "$VENV/bin/python" -m pytest -q tests "$@" ;;
  setup) setup ;;
  *) echo "usage: ./run.sh demo|test|setup [extra args]" >&2; exit 2 ;;
esac
