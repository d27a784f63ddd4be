"""`monitor demo`: Huairou's 2025 replayed up to 2025-11-16 09:00, end to end on the shipped data.

The follow-ups at that moment are worked out here by hand from the sample files (the sites as
first recorded, then their changes in order) and the two Beijing warnings then in force, not by
the rule engine; the history, the July warnings and the monthly reviews are read back from the
demo's database and the real `monitor report`.
"""

import csv
import json
import re
import sqlite3

import pytest
from conftest import CONFIG, REPO, csv_records

from monitor import kinds as K
from monitor.config import load
from monitor.ruleset import load_rules

AS_OF = "2025-11-16T09:00:00+08:00"
GEODATA = REPO / "geodata"
OPEN = {s.code for k in K.KINDS.values() for s in k.statuses.values() if s.open}
NOVEMBER = ("北京市气象台2025年11月15日10时发布大风蓝色预警信号", "北京市气象台2025年11月15日15时40分发布寒潮蓝色预警信号")
JULY = ("北京市地质灾害气象风险红色预警（怀柔区中部、西南部）", "北京市地质灾害气象风险橙色预警（怀柔区北部）",
        "北京市地质灾害气象风险黄色预警（怀柔区南部）", "怀柔区气象台发布暴雨红色预警信号")


def read(name):
    with open(GEODATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def sites_at_the_demo_moment() -> list[dict]:
    """Each sample site as first recorded, with every change before the demo moment applied."""
    state = {r["name"]: dict(r) for r in read("sample_facilities.csv")}
    for c in read("sample_changes.csv"):
        assert c["at"] < AS_OF  # the changes file stops at the demo's moment
        s = state[c["name"]]
        assert c["at"] > s["recorded"]  # a change comes after the site was recorded
        s["status"] = c["status"]
        s["last_inspected"] = c["inspected"] or s["last_inspected"]
        s["due"] = c["due"] or s["due"]
    return list(state.values())


def expected_follow_ups():
    """What the district's rules say on 2025-11-16 09:00, worked out by hand: the blue gale and the
    blue cold wave cover all of Beijing; the heating season opened on 11-15 (inspections older
    than 30 days count as none, so the cut-off is 11-15); the forest-fire prevention period opened
    on 11-01 (not yet the high fire-risk months); a site serving 200 households or more rises one
    level."""
    out = set()
    for r in sites_at_the_demo_moment():
        raise_ = int(r["households"] or 0) >= 200

        def p(base):
            return f"P{max(1, base - raise_)}"
        name, kind, status = r["name"], r["kind"], r["status"]
        if kind == "heating" and status in ("unchecked", "defect", "under_repair", "out_of_service"):
            out.add((name, "cold_heating", p(2)))
        if kind == "heating" and (r["last_inspected"] or "") < "2025-11-15":
            out.add((name, "heating_season", p(2)))
        if kind == "fire" and status in ("open", "rectifying"):
            out.add((name, "gale_fire", p(2)))
            if r["subtype"] == "forest_edge":
                out.add((name, "forest_fire_period", p(3)))
        if status in OPEN and r["due"] and r["due"] < "2025-11-16":
            out.add((name, "overdue", p(2)))
        if kind == "flood" and r["blocks_heating"] == "1" and status in OPEN:
            out.add((name, "heating_access", p(1)))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from conftest import Cli

    tmp = tmp_path_factory.mktemp("demo")
    cli = Cli(tmp / "demo.db")
    result = cli("demo", "--demo-db", str(cli.db), "--out", str(tmp / "demo.html"))
    return cli, result, tmp


def open_follow_ups(db):
    return set(sqlite3.connect(db).execute(
        "SELECT f.name, u.rule, u.priority FROM follow_ups u JOIN facilities f ON f.id = u.facility_id"
        " WHERE u.closed IS NULL").fetchall())


def test_demo_follow_ups_are_the_expected_ones(demo):
    cli, result, tmp = demo
    want = expected_follow_ups()
    assert {r for _, r, _ in want} == {"cold_heating", "heating_season", "gale_fire", "forest_fire_period",
                                      "overdue", "heating_access"}
    assert len(want) > 300
    assert open_follow_ups(cli.db) == want


def test_every_default_rule_fires_during_the_replay(demo):
    """July's warnings (geological hazards, the red rainstorm), October's pre-season checks and the
    November moment between them fire every default rule at least once."""
    cli, _, _ = demo
    fired = {r for (r,) in sqlite3.connect(cli.db).execute("SELECT DISTINCT rule FROM follow_ups")}
    assert fired == {r.id for r in load_rules(load(CONFIG))}
    opened = dict(sqlite3.connect(cli.db).execute("SELECT rule, min(since) FROM follow_ups GROUP BY rule"))
    assert opened["geohazard_damage"] == "2025-07-27T00:00:00Z"     # the warning of 07-27 08:00, as it arrived
    assert opened["rain_flood"] == opened["icing_roads"] == "2025-07-28T08:00:00Z"
    assert opened["heating_preseason"] == "2025-10-01T01:00:00Z"   # the pre-season window opened on 10-01
    assert opened["forest_fire_period"] == "2025-11-01T01:00:00Z"  # the fire-prevention period on 11-01


def test_demo_summary(demo):
    cli, result, tmp = demo
    out = result.output
    assert "as of 2025-11-16 09:00" in out
    assert "townships: 16 (16 approximate" in out
    assert "active warnings: 2" in out and all(h in out for h in NOVEMBER)
    want = expected_follow_ups()
    for p in ("P1", "P2", "P3"):
        assert f"{p} {sum(1 for _, _, q in want if q == p)}" in out
    by_rule = re.search(r"by rule: (.*)", out).group(1)
    for rule in {r for _, r, _ in want}:
        assert f"{rule} {sum(1 for _, r, _ in want if r == rule)}" in by_rule
    assert out.count("  P1 #") == 5  # the top five, with their reasons
    assert f"map: {tmp / 'demo.html'}" in out


def test_demo_map_is_written(demo):
    cli, result, tmp = demo
    html = (tmp / "demo.html").read_text(encoding="utf-8")
    assert all(h in html for h in NOVEMBER) and "汤河口镇" in html
    assert "https://cdn" not in html


def test_followups_json_after_demo(demo):
    cli, _, _ = demo
    rows = json.loads(cli("followups", "--json", as_of=AS_OF).output)
    names = dict(sqlite3.connect(cli.db).execute("SELECT id, name FROM facilities"))
    assert {(names[x["facility_id"]], x["rule"], x["priority"]) for x in rows} == expected_follow_ups()
    first = rows[0]
    assert first["priority"] == "P1" and first["reason"] and first["since"] and first["township"]


def test_the_warnings_have_expired_two_days_later(demo):
    cli, _, _ = demo
    rows = json.loads(cli("followups", "--json", as_of="2025-11-18T09:00:00+08:00").output)
    assert not [x for x in rows if x["rule"] in ("gale_fire", "cold_heating")]
    assert [x for x in rows if x["rule"] == "forest_fire_period"]  # the calendar goes on


def test_history_is_replayed_at_its_own_times(demo):
    """Flood damage enters the history from late July, and its repairs follow in order."""
    cli, _, _ = demo
    conn = sqlite3.connect(cli.db)
    first = dict(conn.execute("SELECT f.kind, min(h.at) FROM status_history h JOIN facilities f ON f.id = h.facility_id"
                              " GROUP BY f.kind"))
    assert first == {"heating": "2025-07-01T01:00:00Z", "fire": "2025-07-01T01:00:00Z", "flood": "2025-07-26T23:00:00Z"}
    changes = read("sample_changes.csv")
    assert conn.execute("SELECT count(*) FROM status_history").fetchone()[0] == 377 + len(changes)
    repaired = next(c for c in changes if c["status"] == "accepted")
    steps = conn.execute("SELECT h.new_status, h.at, h.by FROM status_history h JOIN facilities f ON f.id = h.facility_id"
                         " WHERE f.name = ? ORDER BY h.id", (repaired["name"],)).fetchall()
    assert [s for s, _, _ in steps] == ["damaged", "temporarily_restored", "under_repair", "repaired", "accepted"]
    assert [a for _, a, _ in steps] == sorted(a for _, a, _ in steps) and steps[-1][2] == repaired["by"]


@pytest.mark.parametrize("month, headlines", [("2025-07", JULY), ("2025-11", NOVEMBER)])
def test_the_monthly_reviews_list_the_warnings_of_their_month(demo, month, headlines):
    cli, _, tmp = demo
    out = tmp / f"review-{month}.html"
    cli("report", "--month", month, "--out", str(out), as_of=AS_OF)
    html = out.read_text(encoding="utf-8")
    assert all(h in html for h in headlines)
    assert not any(h in html for h in (NOVEMBER if month == "2025-07" else JULY))


def test_the_monthly_reviews_are_worth_reading(demo):
    """July: the warnings and the follow-ups they caused; October: repairs and pre-season work,
    items overdue at the month's end; November: the season's follow-ups, more repairs."""
    cli, _, tmp = demo

    def district_row(month):
        out = tmp / f"review-{month}.csv"
        cli("report", "--month", month, "--format", "csv", "--out", str(out), as_of=AS_OF)
        rows = csv_records(out.read_text(encoding="utf-8-sig"))
        return next(r for r in rows if r["code"] == "110116000000")

    july, october, november = (district_row(m) for m in ("2025-07", "2025-10", "2025-11"))
    assert int(july["warnings"]) == 4 and int(july["warning_follow_ups"]) > 50
    assert int(july["new_flood"]) == 118
    assert int(october["fixed_flood"]) > 10 and int(october["fixed_fire"]) > 10 and int(october["overdue"]) > 30
    assert int(october["followups_p1"]) + int(october["followups_p2"]) + int(october["followups_p3"]) > 50
    assert int(november["warnings"]) == 2 and int(november["warning_follow_ups"]) > 100
    assert int(november["followups_p1"]) > 0 and int(november["fixed_flood"]) > 0


def test_the_shipped_warnings_say_they_are_reconstructions():
    """Each bundled 2025 warning says it was rebuilt from published text and names its source."""
    files = sorted((GEODATA / "alerts").glob("*.xml"))
    assert {f.name for f in files} == {p.split("/")[-1] for p in load(CONFIG).section("demo")["alerts"]}
    sources = (GEODATA / "alerts" / "SOURCES.md").read_text(encoding="utf-8")
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert "<code>RECONSTRUCTED</code>" in text and "RECONSTRUCTED from published text" in text
        assert "Source: " in text and f.name in sources
        assert "captured feed" in text  # "... not a captured feed"


def test_the_cold_wave_puts_vulnerable_households_on_the_list_worked_out_by_hand(demo):
    """At 2025-11-16 09:00 the blue cold wave covers all Beijing: every SAMPLE household with a
    vulnerability flag whose heating is faulty or under repair, or that was not visited since
    2025-11-02 (14 days), needs a visit: P3, the elderly living alone P2."""
    cli, result, _ = demo
    want = {}
    for h in read("sample_households.csv"):
        flagged = "是" in (h["elderly_alone"], h["disabled"], h["low_income"], h["infants"])
        unvisited = not h["last_visit"] or h["last_visit"] < "2025-11-02"
        if flagged and (h["device"] in ("fault", "under_repair") or unvisited):
            want[h["ref"]] = "P2" if h["elderly_alone"] == "是" else "P3"
    rows = json.loads(cli("households", "due", "--json", as_of=AS_OF).output)
    got = {r["ref"]: r["priority"] for r in rows if r["rule"] == "cold_vulnerable_households"}
    assert got == want and len(want) > 100
    assert all("寒潮" in r["reason"] for r in rows if r["rule"] == "cold_vulnerable_households")
    assert not [r for r in rows if "样例户主" in r["reason"] or "000-0000" in r["reason"]]
    calls = json.loads(cli("calls", "due", "--json", as_of=AS_OF).output)
    open_heating = {c["工单编号"] for c in read("sample_calls.csv")
                    if c["诉求类别"] == "供暖" and not c["办结时间"] and c["受理时间"] >= "2025-11-15"}
    assert {c["ref"] for c in calls} == open_heating and open_heating
    assert "住户 households: 3000" in result.output
