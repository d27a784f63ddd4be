"""`monitor facility list|show|add|export`, and `python -m monitor`."""

import csv
import json
import math
import sqlite3
import subprocess
import sys

import pytest
from conftest import DEMO_AS_OF, REPO, Cli, csv_records, sample_rows, table_dump
from test_field_update import TANGHEKOU, facility, history

from monitor.gcj02 import wgs_to_gcj

OPEN = {"heating": {"unchecked", "defect", "under_repair", "out_of_service"}, "fire": {"open", "rectifying"},
        "flood": {"damaged", "temporarily_restored", "under_repair"}}


def listed(cli: Cli, *args, as_of=DEMO_AS_OF) -> list[dict]:
    return json.loads(cli("facility", "list", "--json", *args, as_of=as_of).stdout)


def csv_ids(pred) -> set[int]:
    """Ids of the sample rows (imported in file order, so id = row number) that satisfy `pred`."""
    return {n for n, r in enumerate(sample_rows(), start=1) if pred(r)}


def haversine(lon1, lat1, lon2, lat2):
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def test_list_everything(sample):
    rows = listed(sample)
    assert [r["id"] for r in rows] == sorted(csv_ids(lambda r: True))
    assert all(r["township_name"] for r in rows)


def test_filter_by_kind_and_status(sample):
    assert {r["id"] for r in listed(sample, "--kind", "fire")} == csv_ids(lambda r: r["kind"] == "fire")
    assert {r["id"] for r in listed(sample, "--kind", "消防隐患")} == csv_ids(lambda r: r["kind"] == "fire")
    # 已验收 is fire's verified and flood's accepted
    assert {r["id"] for r in listed(sample, "--status", "已验收")} == csv_ids(
        lambda r: (r["kind"], r["status"]) in {("fire", "verified"), ("flood", "accepted")})
    assert {r["id"] for r in listed(sample, "--kind", "flood", "--status", "已验收")} == csv_ids(
        lambda r: (r["kind"], r["status"]) == ("flood", "accepted"))
    assert {r["id"] for r in listed(sample, "--status", "under repair")} == csv_ids(
        lambda r: r["status"] == "under_repair")


def test_filter_open(sample):
    got = {r["id"] for r in listed(sample, "--open")}
    assert got == csv_ids(lambda r: r["status"] in OPEN[r["kind"]])
    assert 0 < len(got) < 377


def test_filter_by_township_name_or_code(sample):
    conn = sqlite3.connect(sample.db)
    code, = conn.execute("SELECT code FROM townships WHERE name = '汤河口镇'").fetchone()
    want = {i for (i,) in conn.execute("SELECT id FROM facilities WHERE township = ?", (code,))}
    assert want and {r["id"] for r in listed(sample, "--township", "汤河口")} == want
    assert {r["id"] for r in listed(sample, "--township", code)} == want
    assert {r["id"] for r in listed(sample, "--township", "汤河口镇", "--kind", "heating")} == want & csv_ids(
        lambda r: r["kind"] == "heating")


def test_filter_overdue_uses_the_districts_date(sample):
    # at 2021-10-10 09:00 in Beijing, due before 2021-10-10 and still open
    want = csv_ids(lambda r: r["due"] and r["due"] < "2021-10-10" and r["status"] in OPEN[r["kind"]])
    assert want and {r["id"] for r in listed(sample, "--overdue")} == want
    # a closed item past its due date is not overdue
    assert csv_ids(lambda r: r["due"] and r["due"] < "2021-10-10" and r["status"] not in OPEN[r["kind"]])
    # 2021-10-09 20:30 UTC is already 2021-10-10 in Beijing: a site due 2021-10-09 is overdue there
    sample("facility", "update", "1", "--status", "unchecked", "--due", "2021-10-09", "--by", "x")
    assert 1 in {r["id"] for r in listed(sample, "--overdue", as_of="2021-10-09T20:30:00Z")}
    assert 1 not in {r["id"] for r in listed(sample, "--overdue", as_of="2021-10-09T15:30:00Z")}


def test_filter_by_responsible(sample):
    assert [r["id"] for r in listed(sample, "--responsible", "姚玉兰")] == sorted(
        csv_ids(lambda r: "姚玉兰" in r["responsible"]))


def test_near_within(sample):
    lon, lat = TANGHEKOU
    got = listed(sample, "--near", f"{lon},{lat}", "--within", "3")
    want = {n for n, r in enumerate(sample_rows(), start=1)
            if haversine(lon, lat, float(r["lon"]), float(r["lat"])) <= 3}
    assert want and {r["id"] for r in got} == want
    distances = [r["distance_km"] for r in got]
    assert distances == sorted(distances) and distances[-1] <= 3  # nearest first
    # the same point as a phone map shows it (GCJ-02, about 540 m away), within 300 m
    near = {n for n, r in enumerate(sample_rows(), start=1)
            if haversine(lon, lat, float(r["lon"]), float(r["lat"])) <= 0.3}
    glon, glat = wgs_to_gcj(lon, lat)
    assert {r["id"] for r in listed(sample, "--near", f"{glon},{glat}", "--within", "0.3", "--crs", "gcj02")} == near
    assert {r["id"] for r in listed(sample, "--near", f"{glon},{glat}", "--within", "0.3")} != near


def test_sort(sample):
    rows = listed(sample, "--sort", "households", "--desc")
    assert [r["households"] for r in rows] == sorted((r["households"] for r in rows), reverse=True)
    rows = listed(sample, "--sort", "due")
    dues = [r["due"] for r in rows if r["due"]]
    assert dues == sorted(dues) and all(not r["due"] for r in rows[len(dues):])


@pytest.mark.parametrize("args,says", [
    (["--township", "上海"], "no township '上海'"),
    (["--township", "镇"], "is ambiguous"),
    (["--kind", "boat"], "unknown kind 'boat'"),
    (["--status", "brokn"], "unknown status 'brokn'"),
    (["--kind", "fire", "--status", "ok"], "unknown status 'ok'"),
    (["--near", "116.6"], "is not LON,LAT"),
    (["--near", "nan,40"], "out of range"),
    (["--near", "116.6,40.7", "--within", "0"], "must be more than 0"),
    (["--sort", "distance"], "--sort distance needs --near"),
])
def test_list_refuses_bad_filters_in_one_line(sample, args, says):
    r = sample("facility", "list", *args, ok=False)
    assert r.exit_code == 2 and says in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_the_table_aligns_chinese(sample, monkeypatch):
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", "160")
    out = sample("facility", "list", "--township", "汤河口", "--open").output
    lines = [line for line in out.splitlines()[1:] if line.strip()]
    assert len(lines) > 5 and "汤河口镇" in out and "未检查" in out
    assert len({cell_len(line) for line in lines}) == 1  # every row of the table is equally wide on screen
    assert "逾期" in out  # overdue items are marked


def test_rich_markup_in_names_is_printed_as_typed(district, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    district("facility", "add", "--kind", "fire", "--subtype", "old_wiring", "--name", "[bold red]假[/] 旧线路",
             "--lon", str(TANGHEKOU[0]), "--lat", str(TANGHEKOU[1]), "--by", "x")
    assert "[bold red]假[/] 旧线路" in district("facility", "list").output
    assert "[bold red]假[/] 旧线路" in district("facility", "show", "1").output


def test_show(sample, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    out = sample("facility", "show", "于家园二区").output
    for text in ("#2 泉河街道于家园二区社区 供热管网", "泉河街道", "高洋 13800001075", "维修中 under repair", "2021-11-01",
                 "7月暴雨后管沟进水", "导入 imported"):
        assert text in out, text
    data = json.loads(sample("facility", "show", "2", "--json").stdout)
    assert data["id"] == 2 and data["township_name"] == "泉河街道" and len(data["history"]) == 1
    r = sample("facility", "show", "供热", ok=False)
    assert r.exit_code == 2 and "matches 13 facilities" in r.output and "... and 3 more" in r.output


def test_add(district):
    r = district("facility", "add", "--kind", "供暖设施", "--subtype", "锅炉房", "--name", "长哨营乡 敬老院锅炉房",
                 "--lon", str(TANGHEKOU[0]), "--lat", str(TANGHEKOU[1]), "--responsible", "李军", "--phone",
                 "13800001234", "--households", "40", "--due", "2021-11-10", "--notes", "冬季重点",
                 "--by", "王磊", as_of=DEMO_AS_OF)
    assert "added #1 长哨营乡 敬老院锅炉房 (汤河口镇), 未检查 unchecked" in r.output
    f = facility(district.db, 1)
    assert {k: f[k] for k in ("kind", "subtype", "status", "responsible", "phone", "households", "due", "notes",
                              "created")} == {
        "kind": "heating", "subtype": "boiler_room", "status": "unchecked", "responsible": "李军",
        "phone": "13800001234", "households": 40, "due": "2021-11-10", "notes": "冬季重点",
        "created": "2021-10-10T01:00:00Z"}
    h = history(district.db, 1)
    assert [(x["old_status"], x["new_status"], x["by"]) for x in h] == [(None, "unchecked", "王磊")]


def test_add_gcj02(district):
    glon, glat = wgs_to_gcj(*TANGHEKOU)
    district("facility", "add", "-k", "flood", "-t", "bridge", "--name", "汤河口大桥", "--lon", str(glon),
             "--lat", str(glat), "--crs", "gcj02", "--severity", "major", "--status", "damaged", "--blocks-heating")
    f = facility(district.db, 1)
    assert abs(f["lon"] - TANGHEKOU[0]) < 1e-6 and abs(f["lat"] - TANGHEKOU[1]) < 1e-6
    assert (f["severity"], f["blocks_heating"]) == ("major", 1)


@pytest.mark.parametrize("change,says", [
    ({"--lon": "121.47", "--lat": "31.23"}, "point 121.470000,31.230000 is outside the district"),
    ({"--lon": "abc"}, "lon 'abc' is not a number"),
    ({"--subtype": "hull"}, "unknown subtype 'hull' for heating"),
    ({"--kind": "boat"}, "unknown kind 'boat'"),
    ({"--status": "brokn"}, "unknown status 'brokn'"),
    ({"--name": "a\x1b[2Jb"}, "name contains control characters"),
    ({"--name": "名" * 501}, "name is longer than 500 characters"),
    ({"--name": "  "}, "name is empty"),
    ({"--due": "2021-13-01"}, "due '2021-13-01' is not a date"),
    ({"--households": "-3"}, "households '-3' is not a whole number"),
    ({"--name": "'); DROP TABLE facilities;--", "--lon": "0"}, "outside the district"),
])
def test_add_refuses_bad_input_and_writes_nothing(sample, change, says):
    args = {"--kind": "heating", "--subtype": "boiler_room", "--name": "新锅炉房", "--lon": str(TANGHEKOU[0]),
            "--lat": str(TANGHEKOU[1]), **change}
    before = table_dump(sample.db)
    r = sample("facility", "add", *[x for kv in args.items() for x in kv], ok=False)
    assert r.exit_code == 2 and says in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert "\x1b" not in r.output
    assert table_dump(sample.db) == before


FIELDS = ("name", "kind", "subtype", "status", "severity", "lon", "lat", "township", "responsible", "phone",
          "households", "people", "last_inspected", "due", "notes", "blocks_heating", "source")


def facilities(db) -> list[tuple]:
    conn = sqlite3.connect(db)
    return conn.execute(f"SELECT {', '.join(FIELDS)} FROM facilities ORDER BY id").fetchall()


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_export_round_trips_through_import(sample, tmp_path, fmt):
    sample("facility", "update", "2", "--status", "ok", "--note", "x", "--by", "x", "--inspected", "2021-10-09")
    sample("facility", "add", "-k", "fire", "-t", "old_wiring", "--name", 'O\'Neil "旧线路", 带逗号', "--lon",
           "116.637123456789", "--lat", "40.734561234567", "--notes", "第一行\n第二行")
    out = tmp_path / f"export.{fmt}"
    r = sample("facility", "export", "--format", fmt, "--out", str(out))
    assert "wrote 378 facilities" in r.output
    fresh = Cli(tmp_path / "fresh.db")
    fresh("init")
    fresh("facility", "import", str(out))
    assert facilities(fresh.db) == facilities(sample.db)
    if fmt == "csv":
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese as UTF-8
    else:
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert doc["features"][1]["geometry"] == {"type": "Point", "coordinates": [116.637118, 40.326048]}


def test_export_with_filters(sample, tmp_path):
    out = tmp_path / "fire.csv"
    sample("facility", "export", "--kind", "fire", "--open", "--out", str(out))
    rows = csv_records(out.read_text(encoding="utf-8-sig"))
    assert {int(r["id"]) for r in rows} == csv_ids(lambda r: r["kind"] == "fire" and r["status"] in OPEN["fire"])


def test_export_creates_its_folder_and_fails_cleanly_where_it_cannot_write(sample, tmp_path):
    sample("facility", "export", "--out", str(tmp_path / "new" / "f.csv"))
    assert (tmp_path / "new" / "f.csv").stat().st_size > 0
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    r = sample("facility", "export", "--out", str(blocker / "f.csv"), ok=False)
    assert r.exit_code == 1 and "cannot write" in r.output and len(r.output.strip().splitlines()) == 1
    assert blocker.read_text() == "not a folder"


def run_module(*args, env_db):
    return subprocess.run([sys.executable, "-m", "monitor", "--db", str(env_db), "--config", str(REPO / "config.toml"),
                           *args], capture_output=True, text=True, encoding="utf-8", timeout=60,
                          env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "COLUMNS": "200"})


def test_python_dash_m_monitor_is_the_same_command(sample):
    r = run_module("facility", "update", "1", "--status", "ok", "--by", "模块", env_db=sample.db)
    assert r.returncode == 0, r.stderr
    assert "#1 泉河街道馥郁苑社区 燃气壁挂炉: 未检查 unchecked -> 正常 ok" in r.stdout
    assert history(sample.db, 1)[-1]["by"] == "模块"
    r = run_module("facility", "update", "1", "--status", "brokn", env_db=sample.db)
    assert r.returncode == 2 and r.stderr.startswith("monitor: 未知状态“brokn”") \
        and "unknown status 'brokn'" in r.stderr
    r = run_module("--help", env_db=sample.db)
    assert r.returncode == 0 and "Usage: monitor" in r.stdout and "facility" in r.stdout
    assert json.loads(run_module("facility", "list", "--json", env_db=sample.db).stdout) == listed(sample, as_of=None)


def test_the_table_is_paged_and_says_so(sample):
    """Issue 12: the terminal table shows the first 100 rows and says how many there are; --limit
    sets it (0 = all); --json gives all unless --limit is given."""
    total = len(sample_rows())
    assert total > 100
    out = sample("facility", "list", as_of=DEMO_AS_OF).output
    assert "设施 Facilities (100)" in out and f"显示 100 / 共 {total} 项 showing 100 of {total}; --limit" in out
    out = sample("facility", "list", "--limit", "5", as_of=DEMO_AS_OF).output
    assert "设施 Facilities (5)" in out and f"showing 5 of {total}" in out
    out = sample("facility", "list", "--limit", "0", as_of=DEMO_AS_OF).output
    assert f"设施 Facilities ({total})" in out and "showing" not in out
    assert len(listed(sample)) == total and [r["id"] for r in listed(sample, "--limit", "3")] == [1, 2, 3]
