"""Field staff read Chinese (issue 13 item 8): every error says, Chinese first and then in English,
what is wrong and what to do, in one line, with the exit code it always had. Each case runs the
real `python -m monitor` against a real database."""

import os
import re
import sqlite3
import subprocess
import sys

import pytest
from conftest import CONFIG, DEMO_AS_OF, REPO, SAMPLE_2021, table_dump

CJK = re.compile(r"[\u4e00-\u9fff]")


def monitor(db, *args, config=CONFIG):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(config),
                           "--as-of", DEMO_AS_OF, *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=REPO)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    db = tmp_path_factory.mktemp("zh") / "monitor.db"
    assert monitor(db, "init").returncode == 0
    assert monitor(db, "facility", "import", SAMPLE_2021).returncode == 0
    return db


def said(r) -> str:
    """The one line the CLI printed for a refused command, checked to be Chinese first."""
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    line = lines[0].removeprefix("monitor: ")
    zh, sep, en = line.partition("；")
    assert sep and CJK.search(zh) and re.search(r"[A-Za-z]{3}", en), line
    return line


@pytest.mark.parametrize("args, code, chinese, english", [
    (("facility", "show", "99999"), 2, "没有编号为 99999 的设施，编号见 `monitor facility list`",
     "no facility with id 99999"),
    (("facility", "show", "不存在的地方"), 2, "没有名称像「不存在的地方」的设施", "no facility named like"),
    (("facility", "update", "1", "--status", "ok", "--due", "2021-02-30"), 2, "--due「2021-02-30」不是日期，请写成 YYYY-MM-DD",
     "--due: '2021-02-30' is not a date; use YYYY-MM-DD"),
    (("facility", "update", "1", "--inspected", "2099-01-01"), 2, "--inspected 2099-01-01 在今天", "is in the future"),
    (("facility", "list", "--sort", "distance"), 2, "按距离排序需要 --near 经度,纬度", "--sort distance needs --near"),
    (("facility", "list", "--near", "x,y"), 2, "--near「x,y」不是“经度,纬度”", "is not LON,LAT"),
    (("facility", "list", "--near", "116.6,40.3", "--within", "0"), 2, "--within 须大于 0 且不超过 1000 公里",
     "must be more than 0"),
    (("followups", "--json", "--csv"), 2, "--json 和 --csv 只能选一个", "give --json or --csv, not both"),
    (("followups", "--kind", "boat"), 2, "没有类别「boat」", "unknown kind 'boat'"),
    (("followups", "--explain", "99999"), 2, "没有编号为 99999 的设施", "no facility 99999"),
    (("alerts", "show", "99999"), 2, "没有编号为 99999 的预警", "no alert 99999"),
    (("report", "--month", "2021-13"), 2, "--month「2021-13」不是月份，请写成 YYYY-MM", "is not a month"),
    (("report", "--month", "2030-01"), 2, "2030-01 月还没开始", "has not begun yet"),
    (("alerts", "refresh", "--source", "nowhere"), 2, "没有名为 nowhere 的来源", "no source named nowhere"),
])
def test_usage_errors_are_chinese_first(sample, args, code, chinese, english):
    before = table_dump(sample)
    r = monitor(sample, *args)
    assert r.returncode == code
    line = said(r)
    assert line.startswith(chinese) and english in line.partition("；")[2]
    assert table_dump(sample) == before  # a refused command changes nothing


def test_a_bad_time_is_chinese_first(sample):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    r = subprocess.run([sys.executable, "-m", "monitor", "--db", str(sample), "--config", str(CONFIG),
                        "--as-of", "yesterday", "status"], capture_output=True, text=True, env=env, cwd=REPO)
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("错误：--as-of 的值无效") and "「yesterday」不是时间，请写成如 2021-10-10T08:00+08:00；" in last


def test_no_database_and_no_config(sample, tmp_path):
    r = monitor(tmp_path / "none.db", "facility", "list")
    assert r.returncode == 2
    assert said(r).startswith(f"找不到数据库 {tmp_path / 'none.db'}，请先运行 monitor init")
    r = monitor(sample, "status", config=tmp_path / "missing.toml")
    assert r.returncode == 2
    assert said(r).startswith(f"找不到配置文件 {tmp_path / 'missing.toml'}，请用 --config 指定")


def test_a_bad_import_row_is_named_in_chinese_first(sample, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("name,kind,subtype,lon,lat,households,blocks_heating\n"
                 "甲,heating,boiler_room,abc,40.3,3,0\n"
                 "乙,heating,boiler_room,116.63,40.32,-3,0\n"
                 "丙,heating,boiler_room,116.63,40.32,3,maybe\n", encoding="utf-8")
    before = table_dump(sample)
    r = monitor(sample, "facility", "import", f)
    assert r.returncode == 1
    assert "3 行有问题，未导入任何数据；3 bad row(s), nothing imported" in r.stderr
    assert "row 2 (甲): lon「abc」不是数字；lon 'abc' is not a number" in r.stderr
    assert "row 3 (乙): households「-3」应为不小于 0 的整数；" in r.stderr
    assert "row 4 (丙): 阻断供暖 blocks_heating「maybe」应填 是 或 否；" in r.stderr
    assert table_dump(sample) == before


def test_an_alert_file_that_is_not_one(sample, tmp_path):
    f = tmp_path / "page.html"
    f.write_text("<html><body>login</body></html>", encoding="utf-8")
    r = monitor(sample, "alerts", "import", f)
    assert r.returncode == 1
    line = said(r)
    assert line.startswith(f"{f}: 不是可导入的预警文件，未导入任何内容；") and "nothing was imported" in line
    assert "不是 CAP 预警、Atom 或 RSS；XML with root <html>" in line


def test_a_config_error_is_chinese_first(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.read_text(encoding="utf-8") + "\n[nonsense]\nx = 1\n", encoding="utf-8")
    r = monitor(tmp_path / "m.db", "init", config=config)
    assert r.returncode == 2
    line = said(r)
    assert line.startswith("config.toml 第 ") and "行：未知的配置节 [nonsense]，请检查拼写；" in line
    assert "unknown section [nonsense]" in line
    assert not (tmp_path / "m.db").exists()


def test_outputs_say_what_they_did_in_chinese_too(sample, tmp_path):
    out = tmp_path / "f.csv"
    r = monitor(sample, "facility", "export", "--kind", "fire", "--out", out)
    assert r.returncode == 0 and r.stdout.startswith("已导出 ") and f"facilities to {out}" in r.stdout
    n = sqlite3.connect(sample).execute("SELECT count(*) FROM facilities WHERE kind = 'fire'").fetchone()[0]
    assert r.stdout.startswith(f"已导出 {n} 处设施；wrote {n} facilities")
    r = monitor(sample, "facility", "import", out, "--dry-run")
    assert r.returncode == 0 and r.stdout.startswith("将导入 would import") and f"未变 unchanged {n}" in r.stdout
    r = monitor(sample, "init")
    assert "已是最新" in r.stdout and "up to date" in r.stdout
