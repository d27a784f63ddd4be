"""Household heating register: import (UTF-8, GB18030, .xlsx; all or nothing; by ref), the field
commands with their append-only history and undo, and personal data kept out of listings.
Real processes of the CLI on SQLite files and on a throwaway PostgreSQL."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from conftest import CONFIG, REPO, table_dump

HEADER = ["ref", "village", "village_code", "heating", "device", "last_visit", "elderly_alone", "disabled",
          "low_income", "infants", "contact", "phone", "notes"]
ROWS = [
    ["HH-T1", "东峪", "", "heat_pump", "fault", "2025-11-01", "是", "否", "否", "否", "测试王大妈", "000-1111-0001", ""],
    ["HH-T2", "", "110116110201", "空气源热泵", "正常", "", "否", "否", "是", "否", "测试李大爷", "000-1111-0002", ""],
    ["HH-T3", "宰相庄村委会", "", "gas wall heater", "working", "2025-10-20", "否", "否", "否", "否", "测试赵家",
     "000-1111-0003", ""],
]
NAMES = ["测试王大妈", "测试李大爷", "测试赵家"]
PHONES = ["000-1111-0001", "000-1111-0002", "000-1111-0003"]


def monitor(db, *args, ok=True):
    r = subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(CONFIG), *args],
                       capture_output=True, text=True, cwd=REPO,
                       env={k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")})
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def write_csv(path, rows, encoding="utf-8", header=HEADER):
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "monitor.db"
    monitor(path, "init")
    return path


def listed(db, *args) -> list[dict]:
    return json.loads(monitor(db, "households", "list", "--json", *args).stdout)


def test_utf8_import_places_each_household_in_its_village_and_a_second_import_adds_nothing(db, tmp_path):
    f = write_csv(tmp_path / "h.csv", ROWS)
    out = monitor(db, "households", "import", str(f)).stdout
    assert "新增 added 3" in out
    got = {r["ref"]: r for r in listed(db)}
    assert (got["HH-T1"]["village"], got["HH-T1"]["township_name"], got["HH-T1"]["elderly_alone"]) == ("东峪村", "琉璃庙镇", 1)
    assert (got["HH-T2"]["heating"], got["HH-T2"]["device"], got["HH-T2"]["low_income"]) == ("heat_pump", "working", 1)
    assert (got["HH-T3"]["heating"], got["HH-T3"]["township_name"]) == ("gas_heater", "北房镇")
    before = table_dump(db)
    assert "新增 added 0, 更新 updated 0, 未变 unchanged 3" in monitor(db, "households", "import", str(f)).stdout
    after = table_dump(db)
    assert after["households"] == before["households"] and after["household_history"] == before["household_history"]


def test_gb18030_with_the_bilingual_headers_an_office_keeps(db, tmp_path):
    header = ["编号 ref", "村 village", "村代码 village_code", "取暖 heating", "设备 device", "上次走访 last_visit",
              "独居老人 elderly_alone", "残疾 disabled", "低保 low_income", "婴幼儿 infants", "联系人 contact",
              "电话 phone", "备注 notes"]
    f = write_csv(tmp_path / "gbk.csv", ROWS, encoding="gb18030", header=header)
    monitor(db, "households", "import", str(f))
    assert [(r["ref"], r["village"], r["elderly_alone"]) for r in listed(db)] == [
        ("HH-T1", "东峪村", 1), ("HH-T2", "后山铺村", 0), ("HH-T3", "宰相庄村", 0)]


def test_xlsx(db, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["怀柔区煤改清洁能源住户台账（测试）"])  # a title row above the header
    sheet.append(HEADER)
    for r in ROWS:
        sheet.append(r)
    book.save(tmp_path / "h.xlsx")
    monitor(db, "households", "import", str(tmp_path / "h.xlsx"))
    assert [r["ref"] for r in listed(db)] == ["HH-T1", "HH-T2", "HH-T3"]


@pytest.mark.parametrize("bad, words", [
    (["HH-T4", "没有这个村", "", "heat_pump", "", "", "", "", "", "", "", "", ""], "没有叫「没有这个村」的村"),
    (["HH-T4", "东峪", "", "地暖", "", "", "", "", "", "", "", "", ""], "供暖方式 heating「地暖」不认识"),
    (["HH-T4", "东峪", "", "heat_pump", "", "2025-13-01", "", "", "", "", "", "", ""], "不是日期"),
    (["HH-T4", "东峪", "", "heat_pump", "", "", "也许", "", "", "", "", "", ""], "应填 是 或 否"),
    (["HH-T1", "东峪", "", "heat_pump", "", "", "", "", "", "", "", "", ""], "出现两次"),
])
def test_a_bad_row_imports_nothing(db, tmp_path, bad, words):
    before = table_dump(db)
    r = monitor(db, "households", "import", str(write_csv(tmp_path / "bad.csv", ROWS + [bad])), ok=False)
    assert r.returncode == 1 and words in r.stderr and "row 5" in r.stderr and "未导入任何数据" in r.stderr
    assert table_dump(db) == before


def test_reimport_updates_by_ref_and_records_device_changes_and_visits(db, tmp_path):
    monitor(db, "households", "import", str(write_csv(tmp_path / "h.csv", ROWS)))
    changed = [list(r) for r in ROWS]
    changed[0][4], changed[0][5] = "under_repair", "2025-11-16"  # HH-T1: a repair begun on a visit
    changed[1][10] = "测试李大爷之子"                              # HH-T2: a new contact, no history
    out = monitor(db, "households", "import", str(write_csv(tmp_path / "h2.csv", changed))).stdout
    assert "新增 added 0, 更新 updated 2, 未变 unchanged 1" in out
    h1 = json.loads(monitor(db, "households", "history", "HH-T1", "--json").stdout)["history"]
    assert [(e["old_device"], e["new_device"], e["visited"]) for e in h1] == [
        ("fault", "under_repair", "2025-11-16"), (None, "fault", "2025-11-01")]
    assert len(json.loads(monitor(db, "households", "history", "HH-T2", "--json").stdout)["history"]) == 1
    shown = json.loads(monitor(db, "households", "show", "HH-T2", "--include-personal", "--json").stdout)
    assert shown["contact"] == "测试李大爷之子"


def test_update_and_undo_append_to_the_history(db, tmp_path):
    monitor(db, "households", "import", str(write_csv(tmp_path / "h.csv", ROWS)))
    monitor(db, "households", "update", "HH-T2", "--device", "故障", "--visited", "2025-11-16", "--note", "室温 8 度",
            "--by", "张三")
    assert listed(db, "--device", "fault", "--vulnerable")[-1]["ref"] == "HH-T2"
    monitor(db, "households", "undo", "HH-T2", "--by", "张三")
    h = json.loads(monitor(db, "households", "history", "HH-T2", "--json").stdout)["history"]
    assert [(e["old_device"], e["new_device"], e["undoes"]) for e in h] == [
        ("fault", "working", h[1]["id"]), ("working", "fault", None), (None, "working", None)]
    shown = json.loads(monitor(db, "households", "show", "HH-T2", "--json").stdout)
    assert (shown["device"], shown["last_visit"]) == ("working", None)
    r = monitor(db, "households", "undo", "HH-T2", ok=False)
    assert r.returncode == 2 and "没有可撤销的变更" in r.stderr
    r = monitor(db, "households", "update", "HH-T9", "--device", "fault", ok=False)
    assert r.returncode == 2 and "没有编号为「HH-T9」的住户" in r.stderr


def test_listings_show_no_names_or_phones_unless_asked(db, tmp_path):
    monitor(db, "households", "import", str(write_csv(tmp_path / "h.csv", ROWS)))
    plain = "".join(monitor(db, "households", *args).stdout for args in (
        ("list",), ("list", "--json"), ("show", "HH-T1"), ("show", "HH-T1", "--json")))
    assert not [s for s in NAMES + PHONES if s in plain]
    personal = monitor(db, "households", "list", "--include-personal", "--json").stdout
    assert all(s in personal for s in NAMES + PHONES)


def test_the_same_commands_on_postgresql(pg_url, tmp_path):
    monitor(pg_url, "init")
    f = write_csv(tmp_path / "h.csv", ROWS)
    monitor(pg_url, "households", "import", str(f))
    assert "未变 unchanged 3" in monitor(pg_url, "households", "import", str(f)).stdout
    monitor(pg_url, "households", "update", "HH-T3", "--device", "fault", "--by", "张三")
    monitor(pg_url, "households", "undo", "HH-T3")
    assert [r["device"] for r in listed(pg_url)] == ["fault", "working", "working"]
    h = json.loads(monitor(pg_url, "households", "history", "HH-T3", "--json").stdout)["history"]
    assert [e["new_device"] for e in h] == ["working", "fault", "working"]
