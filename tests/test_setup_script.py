"""scripts/setup.sh --test is idempotent and does not call apt-get when everything is there.

The script runs for real (bash, set -euo pipefail) in a copy of the repository's layout whose
.venv/bin/python is a stand-in that accepts every pip call, with stand-in fc-list, chromium,
dpkg-query and apt-get first on PATH, so that nothing is installed or fetched; PostgreSQL's
folders (MONITOR_PG_LIB, MONITOR_PG_SHARE) are stand-ins too, installed unless a test says not.
"""

import os
import shutil
import stat
import subprocess
from pathlib import Path

from conftest import REPO

FONT_LINE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc: Noto Sans CJK SC:style=Regular"


def _exe(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _pg(lib: Path, share: Path, major: str, *, postgis: bool) -> None:
    (lib / major / "bin").mkdir(parents=True, exist_ok=True)
    _exe(lib / major / "bin" / "initdb", "exit 0")
    if postgis:
        (share / major / "extension").mkdir(parents=True, exist_ok=True)
        (share / major / "extension" / "postgis.control").write_text("", encoding="utf-8")


def _tree(tmp_path: Path, *, fonts: str, apt_exit: int = 0, pg: bool = True) -> tuple[Path, Path, dict]:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    (root / ".venv" / "bin").mkdir(parents=True)
    _exe(root / ".venv" / "bin" / "python", "exit 0")  # pip install ... : nothing to do
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "apt-calls"
    _exe(fake / "fc-list", fonts)
    _exe(fake / "chromium", "exit 0")
    _exe(fake / "dpkg-query", "exit 1")  # the package database knows nothing: only fc-list decides
    pg_lib, pg_share = tmp_path / "pg-lib", tmp_path / "pg-share"
    pg_lib.mkdir()
    if pg:
        _pg(pg_lib, pg_share, "15", postgis=True)
    # apt-get "installs" postgresql as Debian would: a server under MONITOR_PG_LIB/MAJOR/bin
    _exe(fake / "apt-get", f'echo "$@" >> {calls}\n'
         f'case " $* " in *" postgresql "*) mkdir -p {pg_lib}/15/bin && printf "#!/bin/sh\\n" > {pg_lib}/15/bin/initdb'
         f' && chmod +x {pg_lib}/15/bin/initdb ;; esac\nexit {apt_exit}')
    _exe(fake / "id", 'echo 0')  # act as root, as CI does, so that a missing font means apt-get
    env = {"PATH": f"{fake}:{os.environ['PATH']}", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "MONITOR_PG_LIB": str(pg_lib), "MONITOR_PG_SHARE": str(pg_share)}
    return root, calls, env


def _run(root: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(root / "scripts" / "setup.sh"), "--test"], env=env,
                          capture_output=True, text=True, timeout=300)


def test_an_installed_font_is_found_even_when_fc_list_dies_of_sigpipe(tmp_path):
    # a long font list with the CJK font first: `fc-list | grep -q` stops reading at once, and
    # the rest of fc-list's output (more than a pipe holds) kills it with SIGPIPE
    root, calls, env = _tree(tmp_path, fonts=f'{{ echo "{FONT_LINE}"; yes "/usr/share/fonts/x.ttf: X:style=Regular"'
                                               ' | head -n 200000; }')
    for _ in range(2):  # and twice in a row: idempotent
        r = _run(root, env)
        assert r.returncode == 0, r.stderr
    assert not calls.exists(), "apt-get was run although chromium and the font are installed"


def test_a_missing_font_is_installed_waiting_for_the_apt_lock(tmp_path):
    root, calls, env = _tree(tmp_path, fonts="echo '/usr/share/fonts/x.ttf: DejaVu Sans:style=Book'")
    r = _run(root, env)
    assert r.returncode == 0, r.stderr
    lines = calls.read_text().splitlines()
    assert len(lines) == 2 and all("DPkg::Lock::Timeout=600" in line for line in lines)
    assert "install" in lines[1] and "fonts-noto-cjk" in lines[1]


def test_a_failed_apt_get_says_so(tmp_path):
    root, calls, env = _tree(tmp_path, fonts="exit 0", apt_exit=100)
    r = _run(root, env)
    assert r.returncode != 0 and "apt-get could not install" in r.stderr


def _installed(calls: Path) -> list[str]:
    return [line for line in calls.read_text().splitlines() if " install " in f" {line} "] if calls.exists() else []


def test_missing_postgresql_is_installed_then_the_postgis_of_its_major(tmp_path):
    root, calls, env = _tree(tmp_path, fonts=f'echo "{FONT_LINE}"', pg=False)
    r = _run(root, env)
    assert r.returncode == 0, r.stderr
    lines = calls.read_text().splitlines()
    assert all("DPkg::Lock::Timeout=600" in line for line in lines)
    installs = _installed(calls)
    assert len(installs) == 2 and installs[0].endswith(" postgresql") and installs[1].endswith(" postgresql-15-postgis-3")
    assert len(lines) == 3  # one apt-get update


def test_postgis_for_the_newest_installed_server_is_installed_and_then_found(tmp_path):
    root, calls, env = _tree(tmp_path, fonts=f'echo "{FONT_LINE}"', pg=False)
    _pg(Path(env["MONITOR_PG_LIB"]), Path(env["MONITOR_PG_SHARE"]), "13", postgis=True)
    _pg(Path(env["MONITOR_PG_LIB"]), Path(env["MONITOR_PG_SHARE"]), "16", postgis=False)
    r = _run(root, env)
    assert r.returncode == 0, r.stderr
    assert [line.split()[-1] for line in _installed(calls)] == ["postgresql-16-postgis-3"]
    _pg(Path(env["MONITOR_PG_LIB"]), Path(env["MONITOR_PG_SHARE"]), "16", postgis=True)  # as apt-get would
    calls.unlink()
    r = _run(root, env)
    assert r.returncode == 0, r.stderr
    assert not calls.exists(), "apt-get was run although PostgreSQL 16 and its PostGIS are installed"


def test_not_root_says_what_to_install_and_that_the_postgresql_tests_skip(tmp_path):
    root, calls, env = _tree(tmp_path, fonts=f'echo "{FONT_LINE}"', pg=False)
    _exe(Path(env["PATH"].split(":")[0]) / "id", "echo 1000")
    r = _run(root, env)
    assert r.returncode == 0, r.stderr
    assert not calls.exists()
    assert "apt-get install postgresql postgresql-15-postgis-3" in r.stderr
    assert "PostgreSQL tests will be skipped" in r.stderr


def test_a_failed_postgresql_install_says_so(tmp_path):
    root, calls, env = _tree(tmp_path, fonts=f'echo "{FONT_LINE}"', pg=False, apt_exit=100)
    r = _run(root, env)
    assert r.returncode != 0 and "apt-get could not install postgresql" in r.stderr
