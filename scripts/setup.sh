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
  # Capture the font list in a variable before matching: `fc-list | grep -q` under pipefail fails
  # when grep stops early and fc-list dies of SIGPIPE, and setup then "installs" what is there.
  fonts=$(fc-list 2>/dev/null || true)
  have_font=0
  case "$fonts" in *[Nn]oto\ [Ss]ans\ [Cc][Jj][Kk]*) have_font=1 ;; esac
  if [ "$have_font" = 0 ]; then
    status=$(dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null || true)
    case "$status" in *"ok installed"*) have_font=1 ;; esac
  fi
  have_chromium=0
  if command -v chromium >/dev/null 2>&1; then have_chromium=1; fi
  if [ "$have_font" = 0 ] || [ "$have_chromium" = 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      # wait for another apt/dpkg process instead of failing at once on its lock
      apt_wait=(-o DPkg::Lock::Timeout=600)
      if ! { apt-get "${apt_wait[@]}" update -qq && apt-get "${apt_wait[@]}" install -y -qq chromium fonts-noto-cjk >/dev/null; }; then
        echo "setup: apt-get could not install chromium and fonts-noto-cjk (see above); install them and run setup again" >&2
        exit 1
      fi
    else
      echo "setup: chromium and fonts-noto-cjk are missing; install them (sudo apt-get install chromium fonts-noto-cjk)" >&2
      echo "setup: the browser tests will be skipped until then" >&2
    fi
  fi
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
fi
