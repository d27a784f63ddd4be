"""Click's own words in Chinese first, then English: the help's headings and its --help line, and
the usage errors click raises (an unknown option, a missing argument, a bad value).

Click translates its strings through `gettext`, which picks a catalogue by the environment's
locale (LANGUAGE, LC_ALL, LANG) and none at all under C or POSIX; the office's laptops run with
either, and the tool's words must be bilingual whatever the locale. So instead of a catalogue,
this module uses click's public hooks: a `Context` whose help formatter writes `用法 Usage:` and
`选项 Options:`, a help option of its own (`Command.add_help_option` off), and `show`, which the
command group calls in place of `ClickException.show` to print the error Chinese first. Click's
message itself (English) follows unchanged after `；`, as every message of this tool does.
"""

from __future__ import annotations

import click

HELP = "显示本帮助并退出；Show this message and exit."
VERSION_HELP = "显示版本并退出；Show the version and exit."
HEADINGS = {"Options": "选项 Options", "Commands": "命令 Commands", "Arguments": "参数 Arguments"}


class Formatter(click.HelpFormatter):
    """Click's help formatter with the headings in Chinese and English."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix="用法 Usage: " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(HEADINGS.get(heading, heading))


class Context(click.Context):
    formatter_class = Formatter


def localise(command: click.Command) -> None:
    """Give `command` and every subcommand under it the bilingual help formatter and --help line."""
    command.context_class = Context
    if command.add_help_option:
        command.add_help_option = False
        click.help_option("-h", "--help", help=HELP)(command)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            localise(sub)


def show(e: click.ClickException) -> None:
    """Print a click error as this tool prints its own: Chinese first, then click's English."""
    if isinstance(e, click.exceptions.NoArgsIsHelpError):
        e.show()  # the help itself
        return
    if isinstance(e, click.UsageError) and e.ctx is not None:
        path = e.ctx.command_path
        click.echo(f"{e.ctx.get_usage()}\n请用 '{path} --help' 查看用法；Try '{path} --help' for help.", err=True)
    click.echo(f"错误：{chinese(e)}；Error: {e.format_message()}", err=True)


def chinese(e: click.ClickException) -> str:
    """What went wrong, in Chinese, by the kind of click error."""
    if isinstance(e, click.exceptions.NoSuchOption):
        near = f"，是否想用 {'、'.join(e.possibilities)}" if e.possibilities else ""
        return f"没有选项 {e.option_name}{near}，可用的选项见 --help"
    if isinstance(e, click.exceptions.NoSuchCommand):
        return f"没有命令 {e.command_name}，可用的命令见 --help"
    if isinstance(e, click.MissingParameter):
        what = "参数" if isinstance(e.param, click.Argument) else "选项"
        return f"缺少{what}，请补上（见 --help）"
    if isinstance(e, click.BadParameter):
        name = e.param_hint if isinstance(e.param_hint, str) else (e.param.get_error_hint(e.ctx) if e.param and e.ctx
                                                                   else "")
        return f"{name} 的值无效，请按下面的说明改正".strip()
    if isinstance(e, click.BadOptionUsage):
        return "选项用法有误，请按下面的说明改正"
    if isinstance(e, click.BadArgumentUsage):
        return "参数有误（多了或少了），请按下面的说明改正"
    if isinstance(e, click.FileError):
        return f"无法打开文件 {e.ui_filename}"
    if isinstance(e, click.UsageError):
        return "命令用法有误，请按下面的说明改正"
    return "出错了"
