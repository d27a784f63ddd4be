"""`monitor followups` through the real CLI: fields, order, filters, what changed since the last run,
"since" kept across runs, CSV, --explain, and a rule file that is refused before anything is written."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from conftest import CONFIG, DATA, DEMO_AS_OF, GALE_2021, SAMPLE_2021, Cli, table_dump
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
])
def test_bad_options_are_usage_errors(gale, args, message):
    r = gale("followups", *args, as_of=T1, ok=False)
    assert r.exit_code == 2 and message in r.output


def test_csv_has_the_same_rows_and_opens_in_excel(gale):
    out = gale("followups", "--csv", as_of=T1).output
    assert out.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    assert [(int(r["facility_id"]), r["rule"], r["priority"]) for r in rows] == keyed(listing(gale))
    assert json.loads(rows[0]["causes"])[0]["hazard"] == "gale" and rows[0]["township"] == "汤河口镇"


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

def test_since_is_kept_and_changes_are_listed(gale):
    db = gale.db
    assert [r["facility_id"] for r in listing(gale, "--new")] == [1, 5, 2, 3]     # the first run: all new
    # an hour later nothing changed: nothing new, nothing closed, every "since" is still the first run's
    assert listing(gale, "--new", as_of=T2) == [] and listing(gale, "--closed", as_of=T2) == []
    assert {r["since"] for r in listing(gale, as_of=T2)} == {UTC[T1]}
    # F2's fire hazard is rectified: its follow-up closes at the next run (kept, with its since)
    gale("facility", "update", "2", "--status", "rectified", "--note", "已整改", "--by", "测试", as_of=T2)
    out = gale("followups", "--new", "--closed", as_of=T3).output
    assert "new 新增 0, closed 已关闭 1" in out and "F2" in out and "已关闭 Closed" in out
    # asked again at the same moment, the same changes are listed
    closed = listing(gale, "--closed", as_of=T3)
    assert [(r["facility_id"], r["rule"], r["since"], r["closed"]) for r in closed] == \
        [(2, "gale_fire", UTC[T1], UTC[T3])]
    assert listing(gale, "--new", as_of=T3) == []
    # reopened: a new follow-up with a new since; the closed one stays
    gale("facility", "update", "2", "--status", "open", "--by", "测试", as_of=T3)
    new = listing(gale, "--new", as_of=T4)
    assert [(r["facility_id"], r["rule"], r["since"], r["new"]) for r in new] == [(2, "gale_fire", UTC[T4], True)]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT since, closed FROM follow_ups WHERE facility_id = 2 ORDER BY id").fetchall() == \
        [(UTC[T1], UTC[T3]), (UTC[T4], None)]
    # the gale expires (2021-10-10 15:40): both gale follow-ups close, the others stay
    gone = listing(gale, "--closed", as_of="2021-10-10T16:00:00+08:00")
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
    assert "✗ heating_preseason  not matched 未命中\n    ✗ kind fire not in [heating]" in out
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
    assert table_dump(gale.db) == before


def test_an_update_during_evaluation_is_not_lost(tmp_path, monkeypatch):
    """A status update committed by another process while the rules are being evaluated makes the
    evaluation start again from the new state, so the stored follow-ups never lag behind it."""
    import sqlite3

    from monitor import evaluation
    from monitor.config import load
    from monitor.store import Store

    cli = Cli(tmp_path / "m.db")
    cli("init")
    cli("facility", "import", str(SAMPLE_2021), as_of=DEMO_AS_OF)
    cli("alerts", "import", str(GALE_2021),
        as_of=DEMO_AS_OF)
    other = sqlite3.connect(cli.db, isolation_level=None)
    fire = other.execute("SELECT id FROM facilities WHERE kind = 'fire' AND status = 'open' LIMIT 1").fetchone()[0]
    real_evaluate = evaluation.evaluate
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

    monkeypatch.setattr(evaluation, "evaluate", evaluate_while_someone_updates)
    store = Store.open(cli.db)
    outcome = evaluation.run(store, load(CONFIG), clock_at(DEMO_AS_OF))
    assert outcome.attempts == 2 and len(calls) == 2
    rules = {r[0] for r in store.conn.execute(
        "SELECT rule FROM follow_ups WHERE facility_id = ? AND closed IS NULL", (fire,))}
    assert "gale_fire" not in rules


def clock_at(text):
    from monitor import clock

    return clock.parse(text)
