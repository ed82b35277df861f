#!/usr/bin/env bash
# Real-client test: JupyterLab in headless Chromium; moving notebook 05's temperature slider
# must redraw its plot (tests/browser/test_slider_in_jupyterlab.py).
#
# Installs what it needs, then runs the test in quick mode:
#   - Debian's chromium (apt-get, as root or through sudo) when /usr/bin/chromium is missing;
#   - the project venv (make setup) and the Playwright Python driver in it. Playwright drives
#     the system Chromium; it downloads no browser of its own.
# Extra arguments go to pytest, e.g.  tools/browser_test.sh -k notebook_05
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM="${GESTURELIB_CHROMIUM:-/usr/bin/chromium}"
PY=.venv/bin/python

if [ ! -x "$CHROMIUM" ]; then
    echo "browser_test: installing Debian's chromium" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
test -x "$CHROMIUM" || { echo "browser_test: no Chromium at $CHROMIUM after installing" >&2; exit 1; }

make --silent --no-print-directory setup
if ! "$PY" -c "import playwright.sync_api" 2>/dev/null; then
    echo "browser_test: installing the Playwright driver into .venv" >&2
    "$PY" -m pip install --quiet -e ".[browser]"
fi

GESTURELIB_BROWSER_TEST=1 GESTURELIB_QUICK=1 GESTURELIB_CHROMIUM="$CHROMIUM" \
    exec "$PY" -m pytest -s -rs tests/browser "$@"
