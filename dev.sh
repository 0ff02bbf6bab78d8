#!/usr/bin/env bash
# The project's set-up in one place.
#   ./dev.sh run    create .venv, install, materialize the whole pipeline (local profile)
#   ./dev.sh test   create .venv, install, run the test suite
#   ./dev.sh ui     open the Dagster UI on http://127.0.0.1:3000
# Set RETENTION_MIRROR to the offline data mirror (e.g. ../shared/data) where the internet is closed.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
export DAGSTER_HOME=${DAGSTER_HOME:-$PWD/.dagster_home}

ensure_env() {
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
  fi
  # Reinstall only when pyproject.toml changed since the last install.
  if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e '.[test]'
    touch .venv/.installed
  fi
  mkdir -p "$DAGSTER_HOME"
  [ -f "$DAGSTER_HOME/dagster.yaml" ] || touch "$DAGSTER_HOME/dagster.yaml"
}

case "${1:-}" in
  run)
    ensure_env
    status=0
    .venv/bin/dagster job execute -m retention_assets.definitions -j retention_pipeline || status=$?
    # Say what was materialized even when a quality gate stopped part of the graph.
    .venv/bin/python -m retention_assets.summary
    exit "$status"
    ;;
  test)
    ensure_env
    shift
    .venv/bin/python -m pytest "$@"
    ;;
  ui)
    ensure_env
    exec .venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000
    ;;
  *)
    echo "usage: $0 run|test|ui" >&2
    exit 2
    ;;
esac
