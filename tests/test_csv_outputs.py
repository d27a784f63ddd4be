"""The CSV outputs read as the office reads them (issue 13 item 11): headers `中文 english`, times in
the district's zone like the tables, 是/否 for flags, no raw JSON in a cell; and the facility export
still imports back unchanged. Every command runs as a real `python -m monitor` process."""

import csv
import io
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from conftest import CONFIG, DEMO_AS_OF, GALE_2021, REPO, SAMPLE_2021, csv_records


def monitor(db, *args, as_of=DEMO_AS_OF):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    r = subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(CONFIG),
                        "--as-of", as_of, *map(str, args)], capture_output=True, text=True, env=env, cwd=REPO)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def gale(tmp_path_factory):
    """The 2021 sample facilities under the real Beijing gale warning of 2021-10-09, evaluated."""
    tmp = tmp_path_factory.mktemp("csv")
    db = tmp / "monitor.db"
    monitor(db, "init")
    monitor(db, "facility", "import", SAMPLE_2021)
    monitor(db, "facility", "update", "1", "--status", "ok", "--by", "王磊")  # SAMPLE-0001
    monitor(db, "alerts", "import", GALE_2021)
    monitor(db, "followups", "--json")
    return db, tmp


def header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def facilities(db):
    return sqlite3.connect(db).execute(
        "SELECT ref, name, kind, subtype, status, severity, lon, lat, responsible, phone, households, people,"
        " last_inspected, due, notes, blocks_heating FROM facilities ORDER BY ref").fetchall()


def utc(stored: str) -> datetime:
    return datetime.fromisoformat(stored.replace("Z", "+00:00"))


def test_facility_export_is_bilingual_and_imports_back_unchanged(gale, tmp_path):
    db, _ = gale
    out = tmp_path / "facilities.csv"
    monitor(db, "facility", "export", "--out", out)
    text = out.read_text(encoding="utf-8-sig")
    head = header(text)
    assert head[:4] == ["系统编号 id", "台账编号 ref", "名称 name", "类别 kind"]
    assert "状态 status" in head and "经度 lon" in head and "阻断供暖 blocks_heating" in head
    rows = csv_records(text)
    assert {r["blocks_heating"] for r in rows} == {"是", "否"}  # no 0/1, no True/False
    stored = {ref: b for ref, b in sqlite3.connect(db).execute("SELECT ref, blocks_heating FROM facilities")}
    assert all(r["blocks_heating"] == ("是" if stored[r["ref"]] else "否") for r in rows)

    # into the same database: every row is known by its ref and nothing changes
    before = facilities(db)
    r = monitor(db, "facility", "import", out)
    assert f"未变 unchanged {len(rows)}" in r.stdout and "更新 updated 0" in r.stdout
    assert facilities(db) == before
    # into a fresh one: the same facilities
    fresh = tmp_path / "fresh.db"
    monitor(fresh, "init")
    monitor(fresh, "facility", "import", out)
    assert facilities(fresh) == before


def test_district_export_csv_times_in_the_district_zone_and_flags_yes_no(gale, tmp_path):
    db, _ = gale
    out = tmp_path / "export.csv"
    monitor(db, "export", "--format", "csv", "--out", out)
    text = out.read_text(encoding="utf-8-sig")
    head = header(text)
    assert "更新时间 updated" in head and "逾期 overdue" in head and "乡镇代码 township" in head
    rows = {r["ref"]: r for r in csv_records(text)}
    (updated,) = sqlite3.connect(db).execute("SELECT updated FROM facilities WHERE ref = 'SAMPLE-0001'").fetchone()
    beijing = (utc(updated) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert rows["SAMPLE-0001"]["updated"] == beijing  # stored in UTC, shown in Asia/Shanghai
    for column in ("open", "overdue", "blocks_heating"):
        assert {r[column] for r in rows.values()} <= {"是", "否"}, column
    assert {r["open"] for r in rows.values()} == {"是", "否"}


def test_followups_csv_times_local_new_yes_no_causes_in_words(gale):
    db, _ = gale
    text = monitor(db, "followups", "--csv").stdout
    assert text.startswith("\ufeff")
    head = header(text)
    assert head[:3] == ["设施编号 facility_id", "名称 name", "乡镇 township"]
    assert "起始时间 since" in head and "新增 new" in head and "起因 causes" in head
    rows = csv_records(text)
    stored = dict(((f, rule), since) for f, rule, since in sqlite3.connect(db).execute(
        "SELECT facility_id, rule, since FROM follow_ups WHERE closed IS NULL"))
    assert rows and len(rows) == len(stored)
    for r in rows:
        since = stored[(int(r["facility_id"]), r["rule"])]
        assert r["since"] == (utc(since) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
        assert r["new"] == "是" and r["closed"] == ""  # never marked seen: all new
        assert "{" not in r["causes"] and "[" not in r["causes"] and r["causes"]
    gale_rows = [r for r in rows if "大风 gale" in r["causes"]]
    assert gale_rows and all("预警 alert #" in r["causes"] and "蓝色 blue" in r["causes"] for r in gale_rows)


def test_report_csv_headers_are_chinese_with_the_english(gale):
    db, tmp = gale
    out = tmp / "review.csv"
    monitor(db, "report", "--month", "2021-10", "--format", "csv", "--out", out)
    head = header(out.read_text(encoding="utf-8-sig"))
    assert head[:5] == ["月份 month", "代码 code", "乡镇 township", "排名 rank", "待跟进P1 followups_p1"]
    assert "供暖设施待处理 open_heating" in head and "水毁设施修复用时中位数(天) median_repair_days_flood" in head


def test_an_office_file_with_bilingual_headers_and_yes_no_imports(tmp_path):
    """A table typed by hand in the export's shape: `中文 english` headers, 是 for blocks_heating."""
    db = tmp_path / "monitor.db"
    monitor(db, "init")
    src = tmp_path / "sites.csv"
    src.write_text("名称 name,类别 kind,子类 subtype,经度 lon,纬度 lat,阻断供暖 blocks_heating\n"
                   "汤河口镇 G111 路段水毁点,flood,road,116.63712,40.73456,是\n", encoding="utf-8")
    monitor(db, "facility", "import", src)
    assert sqlite3.connect(db).execute("SELECT name, blocks_heating FROM facilities").fetchall() == \
        [("汤河口镇 G111 路段水毁点", 1)]
