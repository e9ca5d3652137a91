#!/usr/bin/env bash
# Shanyu quick start. Needs only Python 3.11+ with pip.
#   bash quickstart.sh serve   # venv, install, init SQLite, seed the demo (it deploys bpmn/), start the server
#   bash quickstart.sh test    # venv, install with test extras, run the whole test suite
# Extra arguments after "test" go to pytest; after "serve" to `shanyu serve`.
# `shanyu demo` is idempotent (a second run says "already seeded"); SHANYU_NO_DEMO=1 skips it.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
mode=${1:-serve}
shift || true

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
# setuptools prints a boxed "Editable installation ... be careful with folders ... same name as your
# package" notice for every editable install of a project laid out like this one (packages at the
# top level). It is advice, not an error; it is silenced by its exact text so nothing else is.
export PYTHONWARNINGS="ignore:Editable installation"

case "$mode" in
  serve)
    .venv/bin/python -m pip install --quiet -e .
    .venv/bin/shanyu init
    if compgen -G "bpmn/*.bpmn" >/dev/null; then
      if [ "${SHANYU_NO_DEMO:-0}" != "1" ]; then
        # The demo creates its accounts and deploys bpmn/ as its process owner `owner`. A demo that
        # cannot finish (e.g. its live cycle needs next year's holiday schedule) says why on stderr;
        # the server starts anyway on what is there.
        .venv/bin/shanyu demo || echo "quickstart: shanyu demo did not finish (see above); starting the server anyway" >&2
      else
        # Deploying needs a process owner (流程管理员) or admin: create one (no password) to deploy as.
        .venv/bin/shanyu user add owner --role 流程管理员 >/dev/null
        .venv/bin/shanyu deploy bpmn/ --as owner
      fi
    fi
    exec .venv/bin/shanyu serve "$@"
    ;;
  test)
    .venv/bin/python -m pip install --quiet -e '.[test]'
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: bash quickstart.sh serve|test [args...]" >&2
    exit 2
    ;;
esac
