"""`monitor followups` through the real CLI: fields, order, filters, what changed since the last run,
"since" kept across runs, CSV, --explain, and a rule file that is refused before anything is written."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from conftest import CONFIG, DATA, DEMO_AS_OF, GALE_2021, SAMPLE_2021, Cli, csv_records, table_dump
from test_rules import TH_BOX, huairou_cap

from monitor.store import Store

TANGHEKOU = (116.63712, 40.73456)   # 汤河口镇 seat (GeoNames)
QUANHE = (116.635149, 40.332161)    # 泉河街道, a sample site
TH, QH = "110116107000", "110116001000"
GALE = DATA / "alerts" / "cn" / "weather-warning-zh-json__f18d095.json"  # real: CMA Beijing gale, blue
T1, T2, T3, T4 = ("2021-10-10T09:00:00+08:00", "2021-10-10T10:00:00+08:00", "2021-10-10T11:00:00+08:00",
                  "2021-10-10T12:00:00+08:00")
UTC = {T1: "2021-10-10T01:00:00Z", T2: "2021-10-10T02:00:00Z", T3: "2021-10-10T03:00:00Z",
       T4: "2021-10-10T04:00:00Z"}
SITES = [  # name, kind, subtype, status, (lon, lat), households, last_inspected, due, blocks_heating
    ("F1 汤河口林区边缘", "fire", "forest_edge", "open", TANGHEKOU, 300, "", "2021-12-01", 0),
    ("F2 泉河老旧电线", "fire", "old_wiring", "rectifying", QUANHE, 40, "", "2021-12-01", 0),
    ("F3 汤河口锅炉房", "heating", "boiler_room", "unchecked", TANGHEKOU, 120, "2021-09-01", "", 0),
    ("F4 泉河热泵", "heating", "heat_pump", "ok", QUANHE, 50, "2021-10-05", "", 0),
    ("F5 汤河口水毁道路", "flood", "road", "damaged", TANGHEKOU, 20, "", "2021-12-01", 1),
    ("F6 汤河口已验收隐患", "fire", "blocked_exit", "verified", TANGHEKOU, 10, "", "", 0),
]


@pytest.fixture
def sites(district, tmp_path) -> Cli:
    path = tmp_path / "sites.csv"
    path.write_text("name,kind,subtype,status,lon,lat,households,last_inspected,due,blocks_heating\n" + "".join(
        f"{n},{k},{st},{s},{p[0]},{p[1]},{h},{i},{d},{b}\n" for n, k, st, s, p, h, i, d, b in SITES),
        encoding="utf-8")
    district("facility", "import", str(path), as_of="2021-10-01T09:00:00+08:00")
    return district


@pytest.fixture
def gale(sites) -> Cli:
    sites("alerts", "import", str(GALE), as_of=T1)
    return sites


def listing(cli: Cli, *args, as_of=T1) -> list[dict]:
    return json.loads(cli("followups", "--json", *args, as_of=as_of).output)


def keyed(rows) -> list[tuple[int, str, str]]:
    return [(r["facility_id"], r["rule"], r["priority"]) for r in rows]


# --- the list ------------------------------------------------------------------------------------

def test_json_fields_and_order(gale):
    rows = listing(gale)
    # P1 first, then by households served: F1 (300, raised from P2 by households) before F5 (20)
    assert keyed(rows) == [(1, "gale_fire", "P1"), (5, "heating_access", "P1"), (2, "gale_fire", "P2"),
                           (3, "heating_preseason", "P3")]
    first = rows[0]
    assert {"facility_id", "township", "kind", "rule", "priority", "reason", "causes", "since"} <= set(first)
    assert (first["township"], first["township_code"], first["kind"], first["name"]) == \
        ("汤河口镇", TH, "fire", "F1 汤河口林区边缘")
    assert first["reason"].startswith("蓝色大风预警区内消防隐患未整改（待整改）：北京市气象台")
    assert first["causes"] == [{"alert": 1, "hazard": "gale", "colour": "blue", "source": "warning"}]
    assert first["since"] == UTC[T1] and first["closed"] is None and first["new"] is True
    assert rows[3]["causes"] == [{"date": "2021-10-01", "what": "pre-season window 2021-10-01..2021-11-14"}]


@pytest.mark.parametrize("args, ids", [
    (("--township", "汤河口"), [1, 5, 3]),
    (("--township", QH), [2]),
    (("--kind", "fire"), [1, 2]),
    (("--kind", "消防隐患"), [1, 2]),
    (("--priority", "P1"), [1, 5]),
    (("--priority", "P2,P3"), [2, 3]),
    (("-p", "P3", "-p", "P1"), [1, 5, 3]),
    (("--township", "汤河口", "--kind", "heating"), [3]),
])
def test_filters(gale, args, ids):
    assert [r["facility_id"] for r in listing(gale, *args)] == ids


@pytest.mark.parametrize("args, message", [
    (("--priority", "P4"), "'P4' is not a priority"),
    (("--kind", "water"), "unknown kind 'water'"),
    (("--township", "不存在"), "no township '不存在'"),
    (("--json", "--csv"), "give --json or --csv, not both"),
    (("--explain", "9999"), "no facility 9999"),
    (("--explain", "1", "--csv"), "--explain takes only --json"),
    (("--explain", "1", "--limit", "3"), "--explain takes only --json"),
    (("--explain", "1", "--mark-seen"), "--explain takes only --json"),
    (("--new", "--viewer", "王\x01磊"), "--viewer「王\\x01磊」不是人名"),  # the control character shown escaped
])
def test_bad_options_are_usage_errors(gale, args, message):
    r = gale("followups", *args, as_of=T1, ok=False)
    assert r.exit_code == 2 and message in r.output


def test_csv_has_the_same_rows_and_opens_in_excel(gale):
    out = gale("followups", "--csv", as_of=T1).output
    assert out.startswith("\ufeff")
    rows = csv_records(out)
    assert [(int(r["facility_id"]), r["rule"], r["priority"]) for r in rows] == keyed(listing(gale))
    assert "大风 gale" in rows[0]["causes"] and rows[0]["township"] == "汤河口镇"


def test_terminal_table_and_summary(gale):
    out = gale("followups", as_of=T1).output
    assert "4 open 待跟进" in out and "new 新增 4" in out and "active warnings 生效预警 1" in out
    assert "F1" in out and "P1" in out and "待跟进 Follow-ups (4)" in out


def test_limit(gale):
    assert keyed(listing(gale, "--limit", "2")) == keyed(listing(gale))[:2]
    out = gale("followups", "--limit", "1", as_of=T1).output
    assert "待跟进 Follow-ups (1)" in out and "showing the first 1" in out
    assert len(listing(gale, "--limit", "0")) == 4


def test_nothing_to_do_is_an_empty_list(district):
    assert district("followups", "--json", as_of=T1).output.strip() == "[]"


# --- what changed, and since when -------------------------------------------------------------------

def test_since_is_kept_and_new_means_since_the_seen_mark(gale):
    """--new / --closed count from the viewer's seen mark (--mark-seen), never from the previous
    listing: however often the list is viewed or evaluated, nothing new is lost."""
    db = gale.db
    ids = lambda rows: [r["facility_id"] for r in rows]  # noqa: E731
    assert ids(listing(gale, "--new")) == [1, 5, 2, 3]     # never marked seen: all new
    # an hour later, listed again (and evaluated again): still all new, every "since" the first run's
    assert ids(listing(gale, "--new", as_of=T2)) == [1, 5, 2, 3] and listing(gale, "--closed", as_of=T2) == []
    assert {r["since"] for r in listing(gale, as_of=T2)} == {UTC[T1]}
    out = gale("followups", "--new", "--mark-seen", "--viewer", "王磊", as_of=T2).output
    # nothing changed since T1's evaluation, so T2 did not evaluate again: the mark is T1's evaluation
    assert "nothing changed since" in out and "evaluated at 2021-10-10 09:00" in out
    assert "no seen mark yet 尚未标记已读 (王磊)" in out and "已标记为已读 marked seen for 王磊: up to 2021-10-10 09:00" in out
    # seen: nothing new for 王磊, however often he lists; someone else still sees all
    for _ in range(2):
        assert listing(gale, "--new", "--viewer", "王磊", as_of=T2) == []
    assert ids(listing(gale, "--new", "--viewer", "李娜", as_of=T2)) == [1, 5, 2, 3]
    # F2's fire hazard is rectified: the update re-evaluates F2 at once, closing its follow-up then
    gale("facility", "update", "2", "--status", "rectified", "--note", "已整改", "--by", "测试", as_of=T3)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT since, closed FROM follow_ups WHERE facility_id = 2").fetchall() == \
        [(UTC[T1], UTC[T3])]
    out = gale("followups", "--new", "--closed", "--viewer", "王磊", as_of=T4).output
    assert "new 新增 0, closed 已关闭 0" in out  # this evaluation changed nothing more ...
    assert "F2" in out and "已关闭 Closed since your seen mark 已读至 2021-10-10 09:00 (王磊)" in out  # ... he sees it
    for _ in range(2):  # listed again, and evaluated meanwhile by someone else's listing: still there
        gale("followups", "--viewer", "李娜", as_of=T4)
        closed = listing(gale, "--closed", "--viewer", "王磊", as_of=T4)
        assert [(r["facility_id"], r["rule"], r["since"], r["closed"]) for r in closed] == \
            [(2, "gale_fire", UTC[T1], UTC[T3])]
    # reopened: a new follow-up with a new since (the update's); the closed one stays
    gale("facility", "update", "2", "--status", "open", "--by", "测试", as_of=T4)
    new = listing(gale, "--new", "--viewer", "王磊", as_of=T4)
    assert [(r["facility_id"], r["rule"], r["since"], r["new"]) for r in new] == [(2, "gale_fire", UTC[T4], True)]
    assert conn.execute("SELECT since, closed FROM follow_ups WHERE facility_id = 2 ORDER BY id").fetchall() == \
        [(UTC[T1], UTC[T3]), (UTC[T4], None)]
    gale("followups", "--mark-seen", "--viewer", "王磊", as_of=T4)
    assert listing(gale, "--new", "--closed", "--viewer", "王磊", as_of=T4) == []
    # the gale expires (2021-10-10 15:40): both gale follow-ups close, the others stay
    gone = listing(gale, "--closed", "--viewer", "王磊", as_of="2021-10-10T16:00:00+08:00")
    assert sorted((r["facility_id"], r["rule"]) for r in gone) == [(1, "gale_fire"), (2, "gale_fire")]
    assert keyed(listing(gale, as_of="2021-10-10T16:00:00+08:00")) == [(5, "heating_access", "P1"),
                                                                       (3, "heating_preseason", "P3")]


def test_a_changed_priority_or_reason_keeps_since(tmp_path):
    s = Store.open(tmp_path / "m.db")
    with s.write():
        s.replace_townships([{"code": TH, "name": "汤河口镇", "geometry": b"x"}])
        (fid,) = s.insert_facilities([{"kind": "fire", "subtype": "old_wiring", "name": "a", "lon": 1, "lat": 1,
                                       "township": TH, "status": "open"}], at="2021-01-01T00:00:00Z", by="t", note="")
    row = (fid, None, "gale_fire", "P2", "蓝色大风", "blue gale", "[]")
    with s.write():
        assert s.sync_follow_up_rows([row], at="2021-01-01T00:00:00Z")["new"] == 1
    with s.write():
        counts = s.sync_follow_up_rows([(fid, None, "gale_fire", "P1", "橙色大风", "orange gale", "[]")],
                                       at="2021-01-01T06:00:00Z")
    assert counts == {"new": 0, "kept": 1, "changed": 1, "closed": 0}
    (r,) = s.follow_up_list()
    assert (r["priority"], r["reason"], r["since"], r["last_seen"]) == \
        ("P1", "橙色大风", "2021-01-01T00:00:00Z", "2021-01-01T06:00:00Z")
    assert s.last_evaluation() == "2021-01-01T06:00:00Z"
    with s.write():
        assert s.sync_follow_up_rows([], at="2021-01-02T00:00:00Z") == {"new": 0, "kept": 0, "changed": 0,
                                                                         "closed": 1}
    assert s.follow_up_list() == [] and s.follow_up_list(closed_at="2021-01-02T00:00:00Z")[0]["since"] == \
        "2021-01-01T00:00:00Z"


# --- explain ------------------------------------------------------------------------------------------

def test_explain_names_what_matched_and_what_did_not(gale):
    out = gale("followups", "--explain", "1", as_of=T1).output
    assert "设施 #1 F1 汤河口林区边缘" in out and "汤河口镇" in out
    assert "✓ gale_fire  P1  蓝色大风预警区内消防隐患未整改（待整改）" in out
    assert "covered by #1 gale blue: 北京市气象台2021年10月09日15时40分发布大风蓝色预警信号" in out
    assert "serves 300 households (at least 200): priority raised 1 level" in out
    assert "✗ heating_preseason  未命中 not matched\n    ✗ kind fire not in [heating]" in out
    assert "✗ due 2021-12-01 has not passed (today 2021-10-10)" in out
    out = gale("followups", "--explain", "6", as_of=T1).output
    assert "✗ status verified not in [open, rectifying]" in out
    out = gale("followups", "--explain", "4", as_of=T1).output
    assert "✗ status ok not in [defect, out_of_service, unchecked, under_repair]" in out
    assert "✗ no active warning of blizzard/cold_wave/low_temperature" in out
    assert "✗ inspected 2021-10-05, on or after 2021-10-01" in out
    out = gale("followups", "--explain", "3", as_of="2021-09-20T09:00:00+08:00").output
    assert "✗ not in the pre-season window 2021-10-01..2021-11-14 (today 2021-09-20)" in out


def test_explain_a_warning_elsewhere_and_json(sites, tmp_path):
    """A SYNTHETIC forest-fire warning over 汤河口 only: a site in 泉河 is not covered."""
    path = tmp_path / "fire.xml"
    path.write_bytes(huairou_cap("森林火险", "橙色", polygon=TH_BOX, sent="2021-10-10T08:00:00+08:00",
                                 expires="2021-10-11T08:00:00+08:00"))
    sites("alerts", "import", str(path), as_of=T1)
    before = table_dump(sites.db)
    out = sites("followups", "--explain", "2", as_of=T1).output
    assert "✗ no active warning of forest_fire/gale covers it (1 in force elsewhere)" in out
    data = json.loads(sites("followups", "--explain", "1", "--json", as_of=T1).output)
    assert data["facility"]["id"] == 1 and data["today"] == "2021-10-10"
    fire = next(r for r in data["rules"] if r["rule"] == "gale_fire")
    assert fire["matched"] and fire["priority"] == "P1" and fire["causes"][0]["hazard"] == "forest_fire"
    assert table_dump(sites.db) == before  # explaining writes nothing


# --- a bad rule file ----------------------------------------------------------------------------------

def test_a_bad_rule_file_is_refused_with_its_line_and_nothing_is_written(gale, tmp_path):
    listing(gale)
    text = CONFIG.read_text(encoding="utf-8")
    text = text.replace('hazards = ["gale", "forest_fire"]', 'hazards = ["gale", "forest_fyre"]')
    line = text[:text.index('"forest_fyre"')].count("\n") + 1
    bad = tmp_path / "config.toml"
    bad.write_text(text, encoding="utf-8")
    before = table_dump(gale.db)
    broken = Cli(gale.db, config=bad)
    for args in (("followups",), ("followups", "--json"), ("followups", "--explain", "1")):
        r = broken(*args, as_of=T2, ok=False)
        assert r.exit_code == 2, r.output
        assert f"config.toml:{line}: rule gale_fire: unknown hazard 'forest_fyre'" in r.output
        assert f"monitor: config.toml 第 {line} 行：规则 gale_fire 写得不对" in r.output
    assert table_dump(gale.db) == before


def test_a_broken_rule_file_refuses_the_update_before_anything_is_saved(gale, tmp_path):
    """The whole config, rules included, is checked before a command changes anything (issue 9
    item 8): a rule with a typo refuses the update with its line, and the site is as it was, so
    the re-evaluation after the update can never find the rules unreadable."""
    listing(gale)
    text = CONFIG.read_text(encoding="utf-8").replace('hazards = ["gale", "forest_fire"]',
                                                       'hazards = ["gale", "forest_fyre"]')
    bad = tmp_path / "config.toml"
    bad.write_text(text, encoding="utf-8")
    r = Cli(gale.db, config=bad)("facility", "update", "2", "--status", "rectified", "--note", "已整改", "--by", "测试",
                                 as_of=T2, ok=False)
    assert r.exit_code == 2 and "unknown hazard 'forest_fyre'" in r.output
    conn = sqlite3.connect(gale.db)
    assert conn.execute("SELECT status FROM facilities WHERE id = 2").fetchone()[0] != "rectified"
    assert conn.execute("SELECT closed FROM follow_ups WHERE facility_id = 2").fetchall() == [(None,)]


def test_an_update_during_evaluation_is_not_lost(tmp_path, monkeypatch):
    """A status update committed by another process while the rules are being evaluated makes the
    evaluation start again from the new state, so the stored follow-ups never lag behind it."""
    import sqlite3

    from monitor import evaluation, rules
    from monitor.config import load
    from monitor.store import Store

    cli = Cli(tmp_path / "m.db")
    cli("init")
    cli("facility", "import", str(SAMPLE_2021), as_of=DEMO_AS_OF)
    cli("alerts", "import", str(GALE_2021),
        as_of=DEMO_AS_OF)
    other = sqlite3.connect(cli.db, isolation_level=None)
    fire = other.execute("SELECT id FROM facilities WHERE kind = 'fire' AND status = 'open' LIMIT 1").fetchone()[0]
    real_evaluate = rules.evaluate  # evaluation imports it when it evaluates (numpy and shapely only then)
    calls = []

    def evaluate_while_someone_updates(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # another process closes the hazard mid-evaluation
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE facilities SET status = 'rectified' WHERE id = ?", (fire,))
            other.execute("INSERT INTO status_history (facility_id, at, by, old_status, new_status, note)"
                          " VALUES (?, '2021-10-10T01:00:00Z', 'other', 'open', 'rectified', 'x')", (fire,))
            other.execute("COMMIT")
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(rules, "evaluate", evaluate_while_someone_updates)
    store = Store.open(cli.db)
    outcome = evaluation.run(store, load(CONFIG), clock_at(DEMO_AS_OF))
    assert outcome.attempts == 2 and len(calls) == 2
    rules = {r[0] for r in store.conn.execute(
        "SELECT rule FROM follow_ups WHERE facility_id = ? AND closed IS NULL", (fire,))}
    assert "gale_fire" not in rules


def clock_at(text):
    from monitor import clock

    return clock.parse(text)


# --- a field update re-evaluates its site at once ------------------------------------------------

def _monitor(db, *args, as_of):
    import os
    import subprocess
    import sys

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LOGNAME": "tester"}
    return subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(CONFIG), "--as-of", as_of,
                           *args], capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)


@pytest.fixture
def demo_db(tmp_path):
    """The 2021 world the old demo built: the 2021 sample facilities, the real gale of
    2021-10-09, and the follow-ups evaluated at 2021-10-10 09:00."""
    from conftest import GALE_2021, SAMPLE_2021

    cli = Cli(tmp_path / "demo.db")
    cli("init")
    cli("facility", "import", str(SAMPLE_2021), as_of=DEMO_AS_OF)
    cli("alerts", "import", str(GALE_2021), as_of=DEMO_AS_OF)
    cli("followups", as_of=DEMO_AS_OF)
    conn = sqlite3.connect(cli.db)  # everything into the main file: the tests copy it
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return cli.db


def open_follow_ups(db, facility_id) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT rule, priority, reason, since FROM follow_ups WHERE facility_id = ? AND closed IS NULL"
                            " ORDER BY rule", (facility_id,)).fetchall()
    finally:
        conn.close()


def test_a_repair_leaves_the_list_at_once_and_an_undo_brings_it_back(demo_db):
    """The issue's case: bridge #116, under repair and overdue, is repaired; its overdue follow-up
    (whose reason says 修复中) closes with the update, not at the next evaluation."""
    (before,) = open_follow_ups(demo_db, 116)
    assert before[0] == "overdue" and "状态“修复中”" in before[2]
    r = _monitor(demo_db, "facility", "update", "116", "--status", "repaired", "--note", "桥面修复", "--by", "王磊",
                 as_of="2021-10-10T10:00:00+08:00")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("#116 杨宋镇安乐庄村桥: 修复中 under repair -> 已修复 repaired")
    assert lines[1] == "待跟进 follow-ups: 新增 new 0, 关闭 closed 1; 现有 open now: 无 none (评估时间 evaluated at 2021-10-10 10:00)"
    assert open_follow_ups(demo_db, 116) == []
    conn = sqlite3.connect(demo_db)
    assert conn.execute("SELECT closed FROM follow_ups WHERE facility_id = 116").fetchall() == [("2021-10-10T02:00:00Z",)]
    r = _monitor(demo_db, "facility", "undo", "116", "--by", "王磊", as_of="2021-10-10T11:00:00+08:00")
    assert r.returncode == 0, r.stderr
    assert "新增 new 1, 关闭 closed 0; 现有 open now: P2 overdue" in r.stdout
    assert open_follow_ups(demo_db, 116) == [("overdue", "P2", before[2], "2021-10-10T03:00:00Z")]
    # --json output stays one JSON document
    r = _monitor(demo_db, "facility", "update", "116", "--status", "repaired", "--note", "再修", "--by", "王磊", "--json",
                 as_of="2021-10-10T12:00:00+08:00")
    assert json.loads(r.stdout)["new_status"] == "repaired" and open_follow_ups(demo_db, 116) == []


def test_one_site_evaluated_alone_matches_a_full_evaluation(demo_db, tmp_path):
    """For every kind of change, what the update's re-evaluation leaves open for the site is what
    a full evaluation at the same moment leaves open for it."""
    import shutil

    from monitor.config import load
    from monitor.evaluation import run, run_site

    config = load(CONFIG)
    changes = [(5, "ok", "修好了"), (116, "repaired", "桥面修复"), (2, "defect", None), (121, "ok", "已检查"),
               (61, "open", "复发"), (11, "rectified", "清理"), (43, "open", None), (29, "damaged", "再次水毁"),
               (68, "temporarily_restored", None), (4, "defect", None)]
    at = "2021-10-10T10:00:00+08:00"
    from monitor import clock

    now = clock.parse(at)
    opened = 0
    for fid, status, note in changes:
        alone, full = tmp_path / f"alone-{fid}.db", tmp_path / f"full-{fid}.db"
        shutil.copy(demo_db, alone)
        r = _monitor(alone, "facility", "update", str(fid), "--status", status, *(["--note", note] if note else []),
                     "--by", "测试", as_of=at)
        assert r.returncode == 0, r.stderr
        opened += "新增 new 1" in r.stdout
        shutil.copy(alone, full)
        s = Store.open(full)
        run(s, config, now)
        s.close()
        assert [x[:3] for x in open_follow_ups(alone, fid)] == [x[:3] for x in open_follow_ups(full, fid)], fid
        s = Store.open(alone)
        again = run_site(s, config, fid, now)  # and doing it again changes nothing
        s.close()
        assert (again.new, again.closed) == (0, 0)
    assert opened >= 1  # some change opened a follow-up, not only closed one


def test_the_evaluation_time_is_recorded_and_shown(gale, tmp_path):
    out = gale("followups", as_of=T1).output
    assert out.startswith("评估时间 evaluated at 2021-10-10 09:00 (previous 上次 none 无)")
    s = Store.open(gale.db)
    assert s.last_evaluation() == UTC[T1] and s.meta("evaluated_at") == UTC[T1]
    s.close()
    out = gale("followups", as_of=T2).output  # nothing changed: not evaluated again
    assert out.startswith("评估时间 evaluated at 2021-10-10 09:00 (previous 上次 none 无)") and "nothing changed since" in out
    gale("facility", "note", "4", "复查", "--by", "测试", as_of=T2)  # a change: the next listing evaluates
    out = gale("followups", as_of=T2).output
    assert out.startswith("评估时间 evaluated at 2021-10-10 10:00 (previous 上次 2021-10-10 09:00)")
    # a site's re-evaluation does not stand in for a full one
    gale("facility", "update", "2", "--status", "rectified", "--note", "已整改", "--by", "测试", as_of=T3)
    s = Store.open(gale.db)
    assert s.last_evaluation() == UTC[T2] and s.meta("site_evaluated_at") == UTC[T3]
    s.close()
    # the map says when
    from monitor.config import load
    from monitor.mapdata import build

    s = Store.open(gale.db)
    data = build(s, load(CONFIG), replay="test")
    s.close()
    assert data.evaluated == "2021-10-10 10:00"
    assert all(t["label_at"] and len(t["label_at"]) == 2 for t in data.townships)


def test_a_repeat_with_nothing_changed_writes_nothing(gale):
    """Issue 12, item 1: `followups --json` again with nothing changed evaluates nothing and writes
    nothing (the database file and its WAL stay byte for byte); the list is the same."""
    from pathlib import Path

    first = gale("followups", "--json", as_of=T1).stdout
    files = [Path(str(gale.db) + s) for s in ("", "-wal")]
    before = [p.read_bytes() if p.exists() else None for p in files]
    assert gale("followups", "--json", as_of=T2).stdout == first
    assert [p.read_bytes() if p.exists() else None for p in files] == before
