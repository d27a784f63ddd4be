"""`monitor demo`: the main job end to end on the shipped data, at the demo's as-of time."""

import json
import sqlite3

import pytest
from conftest import sample_rows

from monitor import kinds as K

OPEN = {s.code for k in K.KINDS.values() for s in k.statuses.values() if s.open}


def expected_follow_ups():
    """What the district's rules say about the sample data on 2021-10-10, worked out by hand."""
    out = set()
    for i, r in enumerate(sample_rows(), start=1):
        raise_ = int(r["households"] or 0) >= 200
        def p(base):
            return f"P{max(1, base - raise_)}"
        if r["kind"] == "fire" and r["status"] in ("open", "rectifying"):
            out.add((i, "gale_fire", p(2)))            # Beijing-wide gale, blue
        if r["status"] in OPEN and r["due"] and r["due"] < "2021-10-10":
            out.add((i, "overdue", p(2)))
        if r["kind"] == "heating" and (r["last_inspected"] or "") < "2021-10-01":
            out.add((i, "heating_preseason", p(3)))   # the pre-season window opened 2021-10-01
        if r["kind"] == "flood" and r["blocks_heating"] == "1" and r["status"] in OPEN:
            out.add((i, "heating_access", p(1)))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from conftest import Cli

    tmp = tmp_path_factory.mktemp("demo")
    cli = Cli(tmp / "demo.db")
    result = cli("demo", "--demo-db", str(cli.db), "--out", str(tmp / "demo.html"))
    return cli, result, tmp


def test_demo_follow_ups_are_the_expected_ones(demo):
    cli, result, tmp = demo
    conn = sqlite3.connect(cli.db)
    got = set(conn.execute("SELECT facility_id, rule, priority FROM follow_ups WHERE closed IS NULL").fetchall())
    want = expected_follow_ups()
    assert len(want) > 100 and {r for _, r, _ in want} == {"gale_fire", "overdue", "heating_preseason", "heating_access"}
    assert got == want


def test_demo_summary(demo):
    cli, result, tmp = demo
    out = result.output
    assert "as of 2021-10-10 09:00" in out
    assert "townships: 16 (16 approximate" in out
    assert "active warnings: 1" in out and "北京市气象台" in out
    want = expected_follow_ups()
    for p in ("P1", "P2", "P3"):
        assert f"{p} {sum(1 for _, _, q in want if q == p)}" in out
    assert f"map: {tmp / 'demo.html'}" in out


def test_demo_map_is_written(demo):
    cli, result, tmp = demo
    html = (tmp / "demo.html").read_text(encoding="utf-8")
    assert "北京市气象台" in html and "汤河口镇" in html
    assert "https://cdn" not in html


def test_followups_json_after_demo(demo):
    cli, _, _ = demo
    r = cli("followups", "--json", as_of="2021-10-10T09:00:00+08:00")
    rows = json.loads(r.output)
    assert {(x["facility_id"], x["rule"], x["priority"]) for x in rows} == expected_follow_ups()
    first = rows[0]
    assert first["priority"] == "P1" and first["reason"] and first["since"] and first["township"]


def test_the_warning_has_expired_a_day_later(demo):
    cli, _, _ = demo
    rows = json.loads(cli("followups", "--json", as_of="2021-10-11T09:00:00+08:00").output)
    assert not [x for x in rows if x["rule"] == "gale_fire"]
    closed = sqlite3.connect(cli.db).execute(
        "SELECT count(*) FROM follow_ups WHERE rule = 'gale_fire' AND closed = '2021-10-11T01:00:00Z'").fetchone()[0]
    assert closed == sum(1 for _, r, _ in expected_follow_ups() if r == "gale_fire")
