"""Rules for people (target = "households" / "calls"): each fires where it should and not where it
should not; the 接诉即办 scores of a small fixture, worked out by hand. Real CLI processes."""

from __future__ import annotations

import csv
import json
import re

import pytest

from test_households import HEADER, monitor, write_csv

AS_OF = "2025-11-16T09:00:00+08:00"   # the heating season's second day

# ref, village, heating, device, last_visit, elderly_alone, low_income
HOMES = [
    ("A", "东峪", "heat_pump", "fault", "2025-11-15", "是", "否"),     # vulnerable, heating not working
    ("B", "东峪", "heat_pump", "working", "2025-11-10", "否", "是"),   # vulnerable, working, visited 6 days ago
    ("C", "宰相庄", "heat_pump", "working", "2025-10-01", "否", "是"),  # vulnerable, not visited for 46 days
    ("D", "宰相庄", "heat_pump", "fault", "2025-11-15", "否", "否"),    # not vulnerable
    ("E", "宰相庄", "gas_heater", "working", "2025-11-15", "否", "否"),
    ("F", "宰相庄", "coal_stove", "working", "2025-11-15", "否", "否"),
    ("G", "东峪", "gas_heater", "working", "2025-11-15", "否", "否"),   # in the cut-off village, not electric
]


def cap(tmp_path, name, event, colour_zh, identifier):
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>北京市气象台</sender><sent>2025-11-15T15:40:00+08:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>zh-CN</language><category>Met</category><event>{event}</event><urgency>Expected</urgency>
    <severity>Minor</severity><certainty>Likely</certainty><onset>2025-11-15T15:40:00+08:00</onset>
    <expires>2025-11-18T00:00:00+08:00</expires><headline>北京市气象台发布{event}{colour_zh}预警信号（测试）</headline>
    <area><areaDesc>北京市</areaDesc><geocode><valueName>GB/T 2260</valueName><value>110000000000</value></geocode></area>
  </info></alert>"""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "monitor.db"
    monitor(path, "init")
    rows = [[f"HH-{r}", v, "", h, d, visit, old, "否", poor, "否", f"测试{r}", f"000-2222-000{i}", ""]
            for i, (r, v, h, d, visit, old, poor) in enumerate(HOMES)]
    monitor(path, "households", "import", str(write_csv(tmp_path / "h.csv", rows)))
    return path


def due(db) -> dict[tuple[str, str], str]:
    out = json.loads(monitor(db, "--as-of", AS_OF, "households", "due", "--json").stdout)
    return {(f["rule"], f["ref"]): f["priority"] for f in out}


def test_nothing_is_due_without_a_warning_or_a_cut_off_village(db):
    assert due(db) == {}


@pytest.mark.parametrize("colour, expected", [
    ("蓝色", {"HH-A": "P2", "HH-C": "P3"}),   # blue: P3, the elderly living alone P2
    ("橙色", {"HH-A": "P1", "HH-C": "P1"}),   # orange: P1
])
def test_cold_wave_puts_vulnerable_households_not_working_or_unvisited_on_the_list(db, tmp_path, colour, expected):
    monitor(db, "alerts", "import", str(cap(tmp_path, "cold.xml", "寒潮", colour, "T-COLD")))
    got = due(db)
    assert {ref: p for (rule, ref), p in got.items() if rule == "cold_vulnerable_households"} == expected
    assert all(rule != "co_households" for rule, _ in got)
    out = json.loads(monitor(db, "--as-of", AS_OF, "households", "due", "--json").stdout)
    a = next(f for f in out if f["ref"] == "HH-A")
    assert "独居老人" in a["reason"] and "故障" in a["reason"] and "寒潮" in a["reason"] and "测试A" not in a["reason"]
    explained = json.loads(monitor(db, "--as-of", AS_OF, "households", "due", "--explain", "HH-B", "--json").stdout)
    cold = next(e for e in explained if e["rule"] == "cold_vulnerable_households")
    assert not cold["matched"] and any("device working" in c and "False" in c for c in cold["checks"])


def test_carbon_monoxide_conditions_put_gas_and_coal_households_on_the_list(db, tmp_path):
    monitor(db, "alerts", "import", str(cap(tmp_path, "co.xml", "一氧化碳中毒气象条件", "黄色", "T-CO")))
    got = due(db)
    assert {ref for rule, ref in got if rule == "co_households"} == {"HH-E", "HH-F", "HH-G"}
    assert all(rule != "cold_vulnerable_households" for rule, _ in got)


@pytest.mark.parametrize("blocks, expected", [("1", {"HH-A": "P1", "HH-B": "P2"}), ("0", {})])
def test_a_village_cut_off_by_flood_damage_puts_its_electric_households_on_the_list(db, tmp_path, blocks, expected):
    site = tmp_path / "site.csv"
    with open(site, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ref", "name", "kind", "subtype", "status", "lon", "lat", "blocks_heating"])
        w.writerow(["HR-T1", "琉璃庙镇东峪村 村道水毁点", "flood", "road", "damaged", "116.682831", "40.621265", blocks])
    monitor(db, "--as-of", AS_OF, "facility", "import", str(site))
    got = {ref: p for (rule, ref), p in due(db).items() if rule == "cut_off_electric_households"}
    assert got == expected


def test_open_heating_calls_in_the_season_and_p1_past_24_hours_without_response(db, tmp_path):
    rows = [
        ["T-1", "2025-11-15 09:00", "琉璃庙镇", "东峪村", "供暖", "暖气不热", "", "", ""],          # 24 h, no response: P1
        ["T-2", "2025-11-16 08:00", "琉璃庙镇", "东峪村", "供暖", "热泵不转 HH-A", "", "", ""],     # 1 h: P2
        ["T-3", "2025-11-15 10:00", "北房镇", "宰相庄村", "供暖", "不热", "2025-11-15 11:00", "", ""],  # responded: P2
        ["T-4", "2025-11-15 10:00", "北房镇", "宰相庄村", "供暖", "不热", "2025-11-15 11:00",
         "2025-11-15 18:00", "满意"],                                                       # resolved: none
        ["T-5", "2025-11-10 10:00", "北房镇", "宰相庄村", "供暖", "不热", "", "", ""],             # before the season
        ["T-6", "2025-11-15 10:00", "北房镇", "宰相庄村", "道路", "路滑", "", "", ""],             # not heating
    ]
    f = write_csv(tmp_path / "calls.csv", rows, header=["工单编号", "受理时间", "所属街乡", "地址", "诉求类别", "诉求内容",
                                                        "响应时间", "办结时间", "满意度"])
    assert "imported 6" in monitor(db, "calls", "import", str(f)).stdout
    assert "imported 0" in monitor(db, "calls", "import", str(f)).stdout
    out = json.loads(monitor(db, "--as-of", AS_OF, "calls", "due", "--json").stdout)
    assert {f["ref"]: f["priority"] for f in out} == {"T-1": "P1", "T-2": "P2", "T-3": "P2"}
    calls = {c["ticket"]: c for c in json.loads(monitor(db, "calls", "list", "--json").stdout)}
    assert calls["T-2"]["household_id"] is not None and calls["T-1"]["village_code"] == "110116110202"
    monitor(db, "--as-of", AS_OF, "calls", "update", "T-1", "--resolved", "2025-11-16T09:30+08:00", "--by", "李四")
    out = json.loads(monitor(db, "--as-of", "2025-11-16T10:00+08:00", "calls", "due", "--json").stdout)
    assert sorted(f["ref"] for f in out) == ["T-2", "T-3"]


def test_call_scores_worked_out_by_hand(db, tmp_path):
    rows = [
        ["S-1", "2025-11-02 09:00", "琉璃庙镇", "", "供暖", "", "2025-11-02 10:00", "2025-11-03 10:00", "满意"],
        ["S-2", "2025-11-05 09:00", "琉璃庙镇", "", "道路", "", "2025-11-05 10:00", "", ""],
        ["S-3", "2025-11-10 09:00", "琉璃庙镇", "", "用电", "", "", "", ""],
        ["S-4", "2025-11-03 09:00", "北房镇", "", "供暖", "", "2025-11-03 10:00", "2025-11-03 12:00", "不满意"],
        ["S-5", "2025-11-04 09:00", "北房镇", "", "消防", "", "2025-11-04 10:00", "2025-11-06 10:00", "基本满意"],
        ["S-6", "2025-10-31 23:00", "北房镇", "", "供暖", "", "", "", ""],   # October: not in November's scores
    ]
    f = write_csv(tmp_path / "calls.csv", rows, header=["ticket", "received", "township", "address", "category", "text",
                                                        "responded", "resolved", "satisfaction"])
    monitor(db, "calls", "import", str(f))
    got = {s["name"]: s for s in json.loads(monitor(db, "calls", "scores", "--month", "2025-11", "--json").stdout)}
    # 琉璃庙镇: 3 received, 2 responded, 1 resolved, 1 of 1 satisfied -> mean (2/3 + 1/3 + 1) / 3 = 2/3
    # 北房镇: 2 received, 2 responded, 2 resolved, 1 of 2 satisfied -> mean (1 + 1 + 1/2) / 3 = 5/6: first
    l, b = got["琉璃庙镇"], got["北房镇"]
    assert (l["received"], l["response_rate"], l["resolution_rate"], l["satisfaction_rate"]) == (3, 2 / 3, 1 / 3, 1.0)
    assert (b["received"], b["response_rate"], b["resolution_rate"], b["satisfaction_rate"]) == (2, 1.0, 1.0, 0.5)
    assert (b["rank"], l["rank"]) == (1, 2) and l["score"] == pytest.approx(2 / 3) and b["score"] == pytest.approx(5 / 6)


def test_a_bad_call_row_imports_nothing(db, tmp_path):
    f = write_csv(tmp_path / "calls.csv", [["X-1", "2025-11-02 09:00", "琉璃庙镇", "", "供暖", "", "", "", ""],
                                           ["X-2", "昨天", "琉璃庙镇", "", "供暖", "", "", "", ""]],
                  header=["ticket", "received", "township", "address", "category", "text", "responded", "resolved",
                          "satisfaction"])
    r = monitor(db, "calls", "import", str(f), ok=False)
    assert r.returncode == 1 and "row 3" in r.stderr and "未导入任何数据" in r.stderr
    assert json.loads(monitor(db, "calls", "list", "--json").stdout) == []


def test_a_household_rule_with_a_typo_is_refused_with_its_line(tmp_path):
    from conftest import CONFIG

    text = CONFIG.read_text(encoding="utf-8").replace('devices = ["fault", "under_repair"]', 'devices = ["broken"]')
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "monitor", "--db", str(tmp_path / "m.db"), "--config", str(config),
                        "households", "due"], capture_output=True, text=True)
    line = next(n for n, t in enumerate(text.splitlines(), start=1) if t.startswith('devices = ["broken"]'))
    assert r.returncode == 2 and f"config.toml:{line}" in r.stderr and "unknown devices 'broken'" in r.stderr


def readable(path) -> str:
    """A file's text as a reader gets it: a map page with its packed data decoded (the sites, names
    and detail packs are base64 and may be deflated: a plain grep of the page would find nothing)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        from test_riskmap import embedded

        doc = embedded(text)
        text += json.dumps({k: {"head": p["head"], "lists": p["lists"]} for k, p in doc.pop("packs").items()},
                           ensure_ascii=False, default=str)
    return text


def test_map_and_export_without_include_personal_hold_no_name_or_phone(db, tmp_path):
    monitor(db, "alerts", "import", str(cap(tmp_path, "cold.xml", "寒潮", "橙色", "T-COLD")))
    names = [f"测试{r[0]}" for r in HOMES]
    phones = [f"000-2222-000{i}" for i in range(len(HOMES))]
    plain_map, plain_csv = tmp_path / "map.html", tmp_path / "villages.csv"
    monitor(db, "--as-of", AS_OF, "map", "--out", str(plain_map))
    monitor(db, "--as-of", AS_OF, "households", "export", str(plain_csv))
    for path in (plain_map, plain_csv):
        text = readable(path)
        assert [s for s in names + phones + ["HH-A", "HH-C"] if s in text] == [], path
    page = readable(plain_map)
    assert "东峪村 住户 households" in page and "2 户需上门" not in page  # A (东峪) and C (宰相庄): one each
    assert "东峪村：1 户需上门" in page and "宰相庄村：1 户需上门" in page
    rows = list(csv.reader(plain_csv.read_text(encoding="utf-8-sig").splitlines()))
    dongyu = dict(zip(rows[0], next(r for r in rows if r[1] == "东峪村")))
    assert (dongyu["户数 households"], dongyu["独居老人 elderly_alone"], dongyu["需上门P1 due_p1"]) == ("3", "1", "1")
    personal_map, personal_csv = tmp_path / "p.html", tmp_path / "p.csv"
    monitor(db, "--as-of", AS_OF, "map", "--out", str(personal_map), "--include-personal")
    monitor(db, "--as-of", AS_OF, "households", "export", str(personal_csv), "--include-personal")
    assert "测试A" in readable(personal_map) and "000-2222-0000" in readable(personal_map)
    assert all(s in personal_csv.read_text(encoding="utf-8") for s in names + phones)


def test_the_review_has_the_calls_section_per_township(db, tmp_path):
    rows = [["S-1", "2025-11-02 09:00", "琉璃庙镇", "", "供暖", "", "2025-11-02 10:00", "2025-11-03 10:00", "满意"],
            ["S-2", "2025-11-05 09:00", "琉璃庙镇", "", "道路", "", "", "", ""]]
    f = write_csv(tmp_path / "calls.csv", rows, header=["ticket", "received", "township", "address", "category", "text",
                                                        "responded", "resolved", "satisfaction"])
    monitor(db, "calls", "import", str(f))
    out = tmp_path / "review.html"
    monitor(db, "--as-of", "2025-12-01T09:00+08:00", "report", "--month", "2025-11", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    row = page[page.index('data-calls-code="110116110000"'):]
    row = row[:row.index("</tr>")]
    assert "琉璃庙镇" in row and ">2<" in row and row.count("50.0%") == 2 and "100.0%" in row


def test_people_rules_and_calls_on_postgresql(pg_url, tmp_path):
    monitor(pg_url, "init")
    rows = [[f"HH-{r}", v, "", h, d, visit, old, "否", poor, "否", f"测试{r}", f"000-2222-000{i}", ""]
            for i, (r, v, h, d, visit, old, poor) in enumerate(HOMES)]
    monitor(pg_url, "households", "import", str(write_csv(tmp_path / "h.csv", rows)))
    monitor(pg_url, "alerts", "import", str(cap(tmp_path, "cold.xml", "寒潮", "蓝色", "T-COLD")))
    assert {(f["rule"], f["ref"]): f["priority"] for f in json.loads(
        monitor(pg_url, "--as-of", AS_OF, "households", "due", "--json").stdout)} == {
        ("cold_vulnerable_households", "HH-A"): "P2", ("cold_vulnerable_households", "HH-C"): "P3"}
    f = write_csv(tmp_path / "calls.csv", [["T-1", "2025-11-15 09:00", "琉璃庙镇", "东峪村", "供暖", "HH-A 不热", "", "", ""]],
                  header=["ticket", "received", "township", "address", "category", "text", "responded", "resolved",
                          "satisfaction"])
    monitor(pg_url, "calls", "import", str(f))
    assert "imported 0" in monitor(pg_url, "calls", "import", str(f)).stdout
    assert [c["priority"] for c in json.loads(monitor(pg_url, "--as-of", AS_OF, "calls", "due", "--json").stdout)] == ["P1"]
    monitor(pg_url, "--as-of", AS_OF, "calls", "update", "T-1", "--responded", "2025-11-16T09:10+08:00", "--by", "李四")
    got = json.loads(monitor(pg_url, "--as-of", "2025-11-16T09:20+08:00", "calls", "due", "--json").stdout)
    assert [c["priority"] for c in got] == ["P2"]
    scores = json.loads(monitor(pg_url, "calls", "scores", "--month", "2025-11", "--json").stdout)
    assert [(s["name"], s["received"], s["response_rate"]) for s in scores] == [("琉璃庙镇", 1, 1.0)]


def test_follow_ups_are_assigned_and_acknowledged_and_the_review_shows_owners_by_age(tmp_path):
    """[leads] names a township's lead; `followups assign` and `ack` record who; the review of the
    running month lists open items per township, owner and age."""
    import sqlite3

    from conftest import CONFIG

    config = CONFIG  # its [leads]: 琉璃庙镇 = 样例负责人甲
    db = tmp_path / "m.db"

    def run(*args, ok=True):
        import os
        import subprocess
        import sys

        r = subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(config), *args],
                           capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")})
        assert (r.returncode == 0) == ok, r.stderr
        return r

    run("init")
    site = tmp_path / "site.csv"
    site.write_text("ref,name,kind,subtype,status,lon,lat,blocks_heating\n"
                    "HR-T1,琉璃庙镇东峪村 村道水毁点,flood,road,damaged,116.682831,40.621265,1\n"
                    "HR-T2,琉璃庙镇东峪村 电力线路水毁点,flood,power_line,damaged,116.683,40.6213,1\n", encoding="utf-8")
    run("--as-of", "2025-11-05T09:00+08:00", "facility", "import", str(site))
    run("--as-of", "2025-11-05T09:00+08:00", "followups")
    ids = [r["follow_up_id"] for r in json.loads(run("--as-of", "2025-11-16T09:00+08:00", "followups", "--json").stdout)
           if r["rule"] == "heating_access"]
    assert len(ids) == 2
    run("--as-of", "2025-11-16T09:00+08:00", "followups", "assign", str(ids[0]), "--to", "王磊", "--by", "李四")
    run("--as-of", "2025-11-16T09:30+08:00", "followups", "ack", str(ids[0]), "--by", "王磊")
    row = sqlite3.connect(db).execute("SELECT assigned_to, assigned_by, acked_by, acked_at FROM follow_ups WHERE id = ?",
                                      (ids[0],)).fetchone()
    assert row == ("王磊", "李四", "王磊", "2025-11-16T01:30:00Z")
    assert "没有编号为 9999" in run("followups", "ack", "9999", ok=False).stderr
    out = tmp_path / "review.html"
    run("--as-of", "2025-11-16T09:00+08:00", "report", "--month", "2025-11", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    rows = {}
    for part in page.split('data-owner-code="110116110000"')[1:]:
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", part[:part.index("</tr>")])
        rows[cells[1]] = cells[2:]
    # opened 2025-11-05 09:00, 11 days before: both over 7 days; one acknowledged
    assert rows == {"王磊": ["1", "1", "0", "0", "1", "1"], "样例负责人甲": ["1", "1", "0", "0", "1", "0"]}
