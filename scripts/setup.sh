#!/usr/bin/env bash
# Set up a fresh machine: a virtualenv in .venv with monitor and its pinned dependencies
# (constraints.txt pins every package, transitive ones too: `pip freeze --exclude-editable`).
#   scripts/setup.sh          what `monitor` needs
#   scripts/setup.sh --test   also the test tools, and (as root, via apt-get) Debian's chromium
#                             and fonts-noto-cjk for the headless-browser map tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
if [ "$want_test" = 1 ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
  if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi 'noto sans cjk'; then
    if [ "$(id -u)" = 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
    else
      echo "setup: chromium and fonts-noto-cjk are missing; install them (sudo apt-get install chromium fonts-noto-cjk)" >&2
      echo "setup: the browser tests will be skipped until then" >&2
    fi
  fi
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
fi
