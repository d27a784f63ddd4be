"""Every command explains itself: help text for each command and option, and a README mention."""

import re

import click
import pytest
from click.testing import CliRunner
from conftest import REPO

from monitor.cli import main


def commands(group: click.Group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*prefix, name))


ALL = list(commands(main))


def test_there_are_the_commands_of_the_design():
    names = {" ".join(p) for p, _ in ALL}
    assert {"demo", "init", "townships import", "facility add", "facility import", "facility list",
            "facility show", "facility update", "facility history", "facility undo", "alerts refresh",
            "alerts import", "alerts list", "alerts show", "followups", "map", "report", "export",
            "status"} <= names


@pytest.mark.parametrize("path, cmd", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help(path, cmd):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert cmd.help and len(cmd.help.strip()) > 20, f"monitor {' '.join(path)} has no real help text"
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert param.help, f"monitor {' '.join(path)} {param.opts[0]} has no help"


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=lambda p: " ".join(p))
def test_readme_mentions_every_command(path):
    assert f"monitor {' '.join(path)}" in (REPO / "README.md").read_text(encoding="utf-8")


def test_top_level_help():
    out = CliRunner().invoke(main, ["--help"]).output
    for path, cmd in ALL:
        if len(path) == 1:
            assert path[0] in out


CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese_first(text: str) -> bool:
    """Chinese, then `；`, then the English: the form of every message and help line."""
    zh, sep, en = text.partition("；")
    return bool(sep and CJK.search(zh) and re.search(r"[A-Za-z]{3}", en))


@pytest.mark.parametrize("path, cmd", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help_is_chinese_first(path, cmd):
    """Field staff read Chinese: each command's first help line and each option's help say it in
    Chinese first, then in English (issue 13 item 8)."""
    assert chinese_first(cmd.help.strip().splitlines()[0]), f"monitor {' '.join(path)}: {cmd.help[:60]}"
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert chinese_first(param.help), f"monitor {' '.join(path)} {param.opts[0]}: {param.help[:60]}"


def test_clicks_own_words_are_chinese_first():
    """Click's headings and --help line, in a real process (python -m monitor)."""
    out = run_monitor("facility", "update", "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("用法 Usage: monitor facility update")
    assert "选项 Options:" in out.stdout and "显示本帮助并退出；Show this message and exit." in out.stdout
    assert "命令 Commands:" in run_monitor("facility", "--help").stdout
    assert "显示版本并退出；Show the version and exit." in run_monitor("--help").stdout


@pytest.mark.parametrize("args, chinese, english", [
    (("facility", "list", "--bogus"), "错误：没有选项 --bogus", "Error: No such option '--bogus'"),
    (("facilty",), "错误：没有命令 facilty", "No such command 'facilty'. Did you mean 'facility'?"),
    (("facility", "update"), "错误：缺少参数", "Error: Missing argument 'ID|NAME'."),
    (("facility", "export"), "错误：缺少选项", "Error: Missing option '--out'."),
    (("export", "--format", "shp", "--out", "x.shp"), "错误：'--format' 的值无效",
     "Invalid value for '--format': 'shp' is not one of"),
    (("facility", "list", "--within", "abc"), "错误：'--within' 的值无效", "'abc' is not a valid float."),
    (("followups", "--priority", "P5"), "错误：'--priority' / '-p' 的值无效", "「P5」不是优先级，请用 P1、P2 或 P3"),
])
def test_clicks_usage_errors_are_chinese_first(args, chinese, english):
    r = run_monitor(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("用法 Usage: monitor")
    assert "请用 '" in lines[1] and "--help' 查看用法；Try '" in lines[1]
    last = lines[-1]
    assert last.startswith(chinese) and english in last and last.index("；") < last.index("Error:")


def run_monitor(*args):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, env=env,
                          cwd=REPO)
