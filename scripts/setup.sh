#!/usr/bin/env bash
# Set up a fresh machine: a virtualenv in .venv with monitor and its pinned dependencies
# (constraints.txt pins every package, transitive ones too: `pip freeze --exclude-editable`).
#   scripts/setup.sh          what `monitor` needs
#   scripts/setup.sh --test   also the test tools, and (as root, via apt-get) Debian's chromium
#                             and fonts-noto-cjk for the headless-browser map tests, and
#                             postgresql with its postgis package, whose binaries the tests use
#                             to start a throwaway cluster of their own (tests/pgcluster.py)
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
  # PostgreSQL and PostGIS: the server binaries are looked for where Debian puts them (the
  # newest major under /usr/lib/postgresql), PostGIS as that major's extension control file; the
  # postgis package is the one for the server's major, found after the server is there.
  pg_lib=${MONITOR_PG_LIB:-/usr/lib/postgresql}
  pg_share=${MONITOR_PG_SHARE:-/usr/share/postgresql}
  pg_major() {
    local d major=""
    for d in "$pg_lib"/*/bin/initdb; do
      [ -x "$d" ] || continue
      d=${d#"$pg_lib"/}; d=${d%%/*}
      case "$d" in *[!0-9]*|"") continue ;; esac
      if [ -z "$major" ] || [ "$d" -gt "$major" ]; then major=$d; fi
    done
    echo "$major"
  }
  major=$(pg_major)
  have_postgis=0
  if [ -n "$major" ] && [ -e "$pg_share/$major/extension/postgis.control" ]; then have_postgis=1; fi
  if [ "$have_postgis" = 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt_wait=(-o DPkg::Lock::Timeout=600)
      if [ -z "$major" ]; then
        if ! { apt-get "${apt_wait[@]}" update -qq && apt-get "${apt_wait[@]}" install -y -qq postgresql >/dev/null; }; then
          echo "setup: apt-get could not install postgresql (see above); install it and run setup again" >&2
          exit 1
        fi
        major=$(pg_major)
        if [ -z "$major" ]; then
          echo "setup: postgresql was installed but no server is under $pg_lib/*/bin; install postgresql and run setup again" >&2
          exit 1
        fi
        updated=1
      fi
      if ! { { [ "${updated:-0}" = 1 ] || apt-get "${apt_wait[@]}" update -qq; } \
             && apt-get "${apt_wait[@]}" install -y -qq "postgresql-$major-postgis-3" >/dev/null; }; then
        echo "setup: apt-get could not install postgresql-$major-postgis-3 (see above); install it and run setup again" >&2
        exit 1
      fi
    else
      echo "setup: PostgreSQL ${major:-(none)} with PostGIS is missing; install it (sudo apt-get install postgresql postgresql-${major:-15}-postgis-3)" >&2
      echo "setup: the PostgreSQL tests will be skipped until then" >&2
    fi
  fi
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
fi
