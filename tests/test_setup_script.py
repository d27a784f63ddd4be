"""scripts/setup.sh --test is idempotent and does not call apt-get when everything is there.

The script runs for real (bash, set -euo pipefail) in a copy of the repository's layout whose
.venv/bin/python is a stand-in that accepts every pip call, with stand-in fc-list, chromium,
dpkg-query and apt-get first on PATH, so that nothing is installed or fetched.
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


def _tree(tmp_path: Path, *, fonts: str, apt_exit: int = 0) -> tuple[Path, Path, dict]:
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
    _exe(fake / "apt-get", f'echo "$@" >> {calls}\nexit {apt_exit}')
    _exe(fake / "id", 'echo 0')  # act as root, as CI does, so that a missing font means apt-get
    env = {"PATH": f"{fake}:{os.environ['PATH']}", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
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
