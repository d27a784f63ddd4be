"""Every command explains itself: help text for each command and option, and a README mention."""

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
