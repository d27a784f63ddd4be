"""Forgiving input for field staff: townships, kinds, subtypes and statuses by Chinese, short,
pinyin or English name with "did you mean"; full-width input; swapped or GCJ-02 coordinates.

CLI behaviour runs the real `python -m monitor` in a subprocess on a database built by
`monitor init` + `facility import` of the shipped sample (the `sample` fixture)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from conftest import CONFIG, REPO, table_dump

from monitor import matching
from monitor.matching import Choice, Unmatched, match

# A point just inside the district's south edge (WGS-84), and where a phone map (GCJ-02) shows it:
# about 500 m further east and north, outside the district. Found from geodata/huairou_townships.geojson.
EDGE_WGS = (116.61495, 40.25156)
EDGE_GCJ = (116.620790, 40.252634)
# 汤河口镇 seat (GeoNames, WGS-84)
TANGHEKOU = (116.63712, 40.73456)


def run(db, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(LANG="C.UTF-8", COLUMNS="200", LOGNAME="tester")
    return subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(CONFIG), *args],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)


def refused(db, *args: str, code: int = 2) -> str:
    """The one line a refused command prints (and it changed nothing)."""
    before = table_dump(db)
    r = run(db, *args)
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("monitor: "), r.stderr
    assert "Traceback" not in r.stderr
    assert table_dump(db) == before
    return lines[0]


def listed(db, *args: str) -> list[int]:
    r = run(db, "facility", "list", "--json", *args)
    assert r.returncode == 0, r.stderr
    return [row["id"] for row in json.loads(r.stdout)]


def row(db, sql: str, params=()) -> dict:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        found = conn.execute(sql, params).fetchone()
        return dict(found) if found else {}
    finally:
        conn.close()


def rows(db, sql: str, params=()) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


# --- the matcher, on the shipped township names ---------------------------------------------

@pytest.fixture(scope="module")
def townships() -> list[Choice]:
    doc = json.loads((REPO / "geodata" / "huairou_townships.geojson").read_text(encoding="utf-8"))
    return [Choice(p["code"], (p["code"], p["name"], p["name_en"]), p["name"])
            for p in (f["properties"] for f in doc["features"])]


@pytest.mark.parametrize("typed,name", [
    ("汤河口镇", "汤河口镇"), ("汤河口", "汤河口镇"), ("110116107000", "汤河口镇"),
    ("１１０１１６１０７０００", "汤河口镇"),          # full-width digits from a Chinese keyboard
    ("Tanghekou Town", "汤河口镇"), ("TANGHEKOU", "汤河口镇"), ("tanghekou", "汤河口镇"),
    ("Tang He Kou", "汤河口镇"), ("ｔａｎｇｈｅｋｏｕ", "汤河口镇"),
    ("changshaoying", "长哨营满族乡"), ("zhangshaoying", "长哨营满族乡"),  # 长 read either way
    ("长哨营", "长哨营满族乡"), ("喇叭沟门", "喇叭沟门满族乡"), ("labagoumen", "喇叭沟门满族乡"),
    ("泉河", "泉河街道"), ("quanhe", "泉河街道"), ("Quanhe Subdistrict", "泉河街道"), ("宝山", "宝山镇"),
])
def test_a_township_by_any_name_people_type(townships, typed, name):
    assert match(typed, townships, parts=True).label == name


@pytest.mark.parametrize("typed,meant", [
    ("汤和口", "汤河口镇"),      # a wrong character
    ("tanhekou", "汤河口镇"),    # a letter missing from the pinyin
    ("jiuduohe", "九渡河镇"),
    ("Liulimao", "琉璃庙镇"),
])
def test_a_near_miss_is_suggested_not_taken(townships, typed, meant):
    with pytest.raises(Unmatched) as e:
        match(typed, townships, parts=True)
    assert meant in [c.label for c in e.value.suggestions]
    assert not e.value.ambiguous


def test_a_part_that_names_several_lists_them(townships):
    with pytest.raises(Unmatched) as e:
        match("山", townships, parts=True)
    assert {c.label for c in e.value.ambiguous} == {"龙山街道", "宝山镇"}


def test_pinyin_is_loaded_only_when_the_cheap_steps_fail():
    code = ("import sys, json\nfrom monitor import kinds as K\n"
            "a = K.lookup_status(K.HEATING, '正常'), K.lookup_status(K.HEATING, 'Under Repair')\n"
            "before = 'pypinyin' in sys.modules\n"
            "b = K.lookup_status(K.HEATING, 'zhengchang')\n"
            "print(json.dumps([a, before, b, 'pypinyin' in sys.modules]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(r.stdout) == [["ok", "under_repair"], False, "ok", True]


def test_normalise_folds_full_width_input():
    assert matching.normalise(" ＃１５５ ") == "#155"
    assert matching.normalise("２０２１－１０－０９") == "2021-10-09"
    assert matching.fold("Under_Repair") == matching.fold("under repair") == "under repair"


# --- townships on the command line ----------------------------------------------------------

def test_list_takes_a_township_by_short_pinyin_or_english_name(sample):
    full = listed(sample.db, "--township", "汤河口镇")
    assert len(full) == 35
    for typed in ("汤河口", "tanghekou", "Tanghekou Town", "１１０１１６１０７０００"):
        assert listed(sample.db, "--township", typed) == full, typed


@pytest.mark.parametrize("typed", ["汤和口", "tanhekou"])
def test_a_mistyped_township_says_did_you_mean_in_chinese_then_english(sample, typed):
    line = refused(sample.db, "facility", "list", "--township", typed)
    assert line.startswith(f"monitor: 没有乡镇“{typed}”，是否要找：汤河口镇 Tanghekou Town？")
    assert f"no township '{typed}': did you mean 汤河口镇 Tanghekou Town?" in line


def test_an_unknown_township_and_an_ambiguous_one(sample):
    line = refused(sample.db, "facility", "list", "--township", "上海")
    assert line.startswith("monitor: 没有乡镇“上海”") and "monitor townships list" in line
    line = refused(sample.db, "facility", "list", "--township", "山")
    assert line.startswith("monitor: “山”对应多个乡镇：龙山街道 Longshan Subdistrict、宝山镇 Baoshan Town")
    assert "township '山' is ambiguous" in line and "type more of the name" in line


def test_followups_and_report_take_the_same_township_names(sample):
    r = run(sample.db, "followups", "--township", "tanghekou", "--json")
    assert r.returncode == 0, r.stderr
    line = refused(sample.db, "followups", "--township", "tanhekou")
    assert "是否要找：汤河口镇" in line


# --- kinds, subtypes and statuses -----------------------------------------------------------

def test_kinds_and_statuses_by_pinyin_and_full_width(sample):
    heating_ok = listed(sample.db, "--kind", "heating", "--status", "ok")
    assert heating_ok
    assert listed(sample.db, "--kind", "gongnuan sheshi", "--status", "zhengchang") == heating_ok
    assert listed(sample.db, "--kind", "ＨＥＡＴＩＮＧ", "--status", "正常") == heating_ok


@pytest.mark.parametrize("args,starts,english", [
    (["--kind", "flod"], "monitor: 未知类别“flod”，是否要找：flood 水毁设施？",
     "unknown kind 'flod'; did you mean flood 水毁设施?"),
    (["--kind", "shuihui"], "monitor: 未知类别“shuihui”，是否要找：flood 水毁设施？",
     "unknown kind 'shuihui'; did you mean flood 水毁设施?"),
    (["--kind", "heating", "--status", "正長"], "monitor: 未知状态“正長”（供暖设施），是否要找：ok 正常？",
     "unknown status '正長' for heating 供暖设施; did you mean ok 正常?"),
    (["--kind", "fire", "--status", "rectifyed"], "monitor: 未知状态“rectifyed”（消防隐患），是否要找：rectified 已整改",
     "unknown status 'rectifyed' for fire 消防隐患; did you mean rectified 已整改"),
    (["--status", "已验"], "monitor: 未知状态“已验”，是否要找：",
     "did you mean accepted 已验收 or verified 已验收?"),
])
def test_a_mistyped_kind_or_status_says_did_you_mean(sample, args, starts, english):
    line = refused(sample.db, "facility", "list", *args)
    assert line.startswith(starts), line
    assert english in line, line


def test_a_status_nothing_is_close_to_lists_the_known_ones(sample):
    line = refused(sample.db, "facility", "update", "1", "--status", "xyz", "--by", "x")
    assert line == ("monitor: 未知状态“xyz”（供暖设施）；可用：unchecked 未检查、ok 正常、defect 有缺陷、"
                    "under_repair 维修中、out_of_service 停用；unknown status 'xyz' for heating 供暖设施; known: "
                    "unchecked 未检查, ok 正常, defect 有缺陷, under_repair 维修中, out_of_service 停用")


def test_the_subtype_error_lists_chinese_names_and_suggests(sample):
    args = ["facility", "add", "-k", "heating", "--name", "新锅炉房", "--lon", str(TANGHEKOU[0]),
            "--lat", str(TANGHEKOU[1]), "--by", "x"]
    line = refused(sample.db, *args, "-t", "锅炉")
    assert line.startswith("monitor: 未知子类“锅炉”（供暖设施），是否要找：boiler_room 锅炉房？可用：boiler_room 锅炉房、"
                           "heat_pump 空气源热泵、gas_heater 燃气壁挂炉、pipeline 供热管网、heating_station 村级供暖站；")
    assert "unknown subtype '锅炉' for heating 供暖设施; did you mean boiler_room 锅炉房?" in line
    line = refused(sample.db, *args, "-t", "hull")
    assert "可用：boiler_room 锅炉房、heat_pump 空气源热泵" in line and "unknown subtype 'hull'" in line
    r = run(sample.db, *args, "-t", "guolufang", "--json")  # pinyin of 锅炉房
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["subtype"] == "boiler_room"


def test_an_import_row_names_what_it_meant(district, tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("name,kind,subtype,status,lon,lat\n"
                 f"甲,fire,old_wiring,rectifyed,{TANGHEKOU[0]},{TANGHEKOU[1]}\n", encoding="utf-8")
    r = run(district.db, "facility", "import", str(f))
    assert r.returncode == 1
    assert "row 2 (甲): 未知状态“rectifyed”（消防隐患），是否要找：rectified 已整改" in r.stderr
    assert row(district.db, "SELECT count(*) AS n FROM facilities")["n"] == 0


# --- full-width ids, statuses and dates ------------------------------------------------------

def test_full_width_input_from_a_chinese_keyboard(sample):
    r = run(sample.db, "facility", "update", "＃２", "-s", "ｏｋ", "--note", "更换循环泵", "--by", "王磊",
            "--inspected", "２０２１－１０－０９", "--due", "２０２１－１２－０１")
    assert r.returncode == 0, r.stderr
    f = row(sample.db, "SELECT status, last_inspected, due FROM facilities WHERE id = 2")
    assert f == {"status": "ok", "last_inspected": "2021-10-09", "due": "2021-12-01"}
    r = run(sample.db, "facility", "note", "１５５", "夜间异响", "--by", "王磊")
    assert r.returncode == 0, r.stderr
    assert row(sample.db, "SELECT facility_id, note FROM status_history ORDER BY id DESC LIMIT 1") == {
        "facility_id": 155, "note": "夜间异响"}
    line = refused(sample.db, "facility", "update", "＃９９９９９", "-s", "ok", "--by", "x")
    assert "no facility with id 99999" in line


# --- facility note --------------------------------------------------------------------------

def test_a_note_changes_nothing_but_the_history_and_undo_takes_it_back(sample):
    before = rows(sample.db, "SELECT * FROM facilities ORDER BY id")
    r = run(sample.db, "facility", "note", "2", "村委会反映夜间有异响，明早复查", "--by", "王磊")
    assert r.returncode == 0, r.stderr
    assert "维修中 under repair 状态不变 unchanged" in r.stdout
    assert rows(sample.db, "SELECT * FROM facilities ORDER BY id") == before
    entry = row(sample.db, "SELECT * FROM status_history WHERE facility_id = 2 ORDER BY id DESC LIMIT 1")
    assert {k: entry[k] for k in ("by", "old_status", "new_status", "note", "inspected", "due", "undoes",
                                  "old_severity", "new_severity")} == {
        "by": "王磊", "old_status": "under_repair", "new_status": "under_repair",
        "note": "村委会反映夜间有异响，明早复查", "inspected": None, "due": None, "undoes": None,
        "old_severity": None, "new_severity": None}
    r = run(sample.db, "facility", "undo", "2", "--by", "王磊", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["undoes"] == entry["id"]
    after = row(sample.db, "SELECT status, last_inspected, due, severity FROM facilities WHERE id = 2")
    assert after == {k: before[1][k] for k in ("status", "last_inspected", "due", "severity")}
    r = run(sample.db, "facility", "history", "2")
    assert "已撤销 undone by" in r.stdout and "村委会反映" in r.stdout


def test_an_empty_note_or_bad_text_is_refused(sample):
    line = refused(sample.db, "facility", "note", "2", "   ", "--by", "x")
    assert line == "monitor: 备注为空：请写下看到或做了什么；the note is empty: say what was found or done"
    assert "control characters" in refused(sample.db, "facility", "note", "2", "a\x1b[31mb", "--by", "x")
    assert "no facility with id 99999" in refused(sample.db, "facility", "note", "99999", "x", "--by", "x")


def test_update_with_nothing_to_record_is_refused(sample):
    line = refused(sample.db, "facility", "update", "2", "--by", "x")
    assert line.startswith("monitor: 没有要记录的内容：请给出 --status、--severity")
    assert "nothing to record" in line


def test_update_help_lists_each_kinds_statuses(sample):
    r = run(sample.db, "facility", "update", "--help")
    assert r.returncode == 0
    out = r.stdout
    from monitor import kinds as K

    for k in K.KINDS.values():
        assert f"{k.code} {k.zh} {k.en}:" in out
        for s in k.statuses.values():
            assert f"{s.code} {s.zh} {s.en} -> {', '.join(k.transitions[s.code])}" in out
    assert "destroyed 损毁, major 严重受损, minor 轻微受损, affected 受影响" in out
    assert "  note " in run(sample.db, "facility", "--help").stdout  # listed among the commands


# --- revising a damage assessment -----------------------------------------------------------

@pytest.fixture
def flood(sample) -> dict:
    return row(sample.db, "SELECT id, status, severity FROM facilities WHERE kind = 'flood' AND severity = 'minor'"
                          " ORDER BY id LIMIT 1")


def test_severity_is_revised_recorded_and_undone(sample, flood):
    fid = str(flood["id"])
    r = run(sample.db, "facility", "update", fid, "--severity", "严重受损", "--note", "复查：路基冲刷加重",
            "--by", "王磊")
    assert r.returncode == 0, r.stderr
    assert "损毁程度 severity 轻微受损 minor -> 严重受损 major" in r.stdout
    f = row(sample.db, "SELECT status, severity FROM facilities WHERE id = ?", (flood["id"],))
    assert f == {"status": flood["status"], "severity": "major"}
    h = row(sample.db, "SELECT * FROM status_history WHERE facility_id = ? ORDER BY id DESC LIMIT 1", (flood["id"],))
    assert (h["old_status"], h["new_status"], h["old_severity"], h["new_severity"], h["note"]) == (
        flood["status"], flood["status"], "minor", "major", "复查：路基冲刷加重")
    # a status change after it leaves the severity alone; undo goes back one change at a time
    assert run(sample.db, "facility", "update", fid, "-s", "repaired", "--note", "修好", "--by", "王磊").returncode == 0
    assert row(sample.db, "SELECT severity FROM facilities WHERE id = ?", (flood["id"],))["severity"] == "major"
    assert run(sample.db, "facility", "undo", fid, "--by", "王磊").returncode == 0
    assert row(sample.db, "SELECT severity FROM facilities WHERE id = ?", (flood["id"],))["severity"] == "major"
    r = run(sample.db, "facility", "undo", fid, "--by", "王磊", "--json")
    assert r.returncode == 0, r.stderr
    assert {k: json.loads(r.stdout)[k] for k in ("undoes", "old_severity", "new_severity", "severity")} == {
        "undoes": h["id"], "old_severity": "major", "new_severity": "minor", "severity": "minor"}
    r = run(sample.db, "facility", "history", fid, "--json")
    got = [(e["old_severity"], e["new_severity"], e["undoes"]) for e in json.loads(r.stdout)["history"]]
    # newest first: the undo that put minor back, then the revision it undid (the repair and its undo,
    # and the creation, left the severity alone)
    assert [e for e in got if e[:2] != (None, None)] == [("major", "minor", h["id"]), ("minor", "major", None)]
    assert "损毁程度" in run(sample.db, "facility", "history", fid).stdout


def test_severity_with_a_status_change_in_one_entry(sample, flood):
    fid = str(flood["id"])
    r = run(sample.db, "facility", "update", fid, "-s", "damaged", "--severity", "destroyed", "--note", "再次冲毁",
            "--by", "王磊")
    assert r.returncode == 0, r.stderr
    h = row(sample.db, "SELECT * FROM status_history WHERE facility_id = ? ORDER BY id DESC LIMIT 1", (flood["id"],))
    assert (h["new_status"], h["old_severity"], h["new_severity"]) == ("damaged", "minor", "destroyed")
    assert run(sample.db, "facility", "undo", fid, "--by", "王磊").returncode == 0
    assert row(sample.db, "SELECT status, severity FROM facilities WHERE id = ?", (flood["id"],)) == {
        "status": flood["status"], "severity": "minor"}


def test_a_bad_severity_is_refused(sample, flood):
    line = refused(sample.db, "facility", "update", str(flood["id"]), "--severity", "majr", "--by", "x")
    assert line.startswith("monitor: 未知损毁程度“majr”（水毁设施），是否要找：major 严重受损？")
    assert "unknown severity 'majr' for flood 水毁设施; did you mean major 严重受损?" in line
    line = refused(sample.db, "facility", "update", "2", "--severity", "major", "--by", "x")
    assert line == ("monitor: 供暖设施没有损毁程度（只有水毁设施有）；heating 供暖设施 has no severity "
                    "(only flood has one)")


def test_the_monthly_review_ignores_a_severity_only_entry_and_a_note(sample, flood, tmp_path):
    def review(name):
        out = tmp_path / name
        r = run(sample.db, "--as-of", "2021-10-20T12:00:00+08:00", "report", "--month", "2021-10",
                "--format", "csv", "--out", str(out))
        assert r.returncode == 0, r.stderr
        return out.read_text(encoding="utf-8-sig")

    before = review("before.csv")
    for args in (["update", str(flood["id"]), "--severity", "major"], ["note", str(flood["id"]), "复查"]):
        r = run(sample.db, "--as-of", "2021-10-15T10:00:00+08:00", "facility", *args, "--by", "王磊")
        assert r.returncode == 0, r.stderr
    assert review("after.csv") == before


# --- coordinates: swapped, GCJ-02, far away -------------------------------------------------

def add_at(db, lon, lat, *extra):
    return ["facility", "add", "-k", "heating", "-t", "boiler_room", "--name", "新锅炉房", "--lon", str(lon),
            "--lat", str(lat), "--by", "x", *extra]


def test_swapped_longitude_and_latitude_are_named(sample):
    line = refused(sample.db, *add_at(sample.db, TANGHEKOU[1], TANGHEKOU[0]))
    assert line.startswith("monitor: 经纬度似乎填反了") and "longitude and latitude look swapped" in line


def test_a_phone_map_point_just_outside_gets_the_gcj02_hint(sample):
    line = refused(sample.db, *add_at(sample.db, *EDGE_GCJ))
    assert line == (f"monitor: 坐标 {EDGE_GCJ[0]:.6f},{EDGE_GCJ[1]:.6f} 不在本区内：像是手机地图的 GCJ-02 坐标，"
                    f"请加 --crs gcj02；point {EDGE_GCJ[0]:.6f},{EDGE_GCJ[1]:.6f} is outside the district "
                    "(GCJ-02 coordinates from a phone map? add --crs gcj02)")
    r = run(sample.db, *add_at(sample.db, *EDGE_GCJ, "--crs", "gcj02", "--json"))
    assert r.returncode == 0, r.stderr
    added = json.loads(r.stdout)
    assert abs(added["lon"] - EDGE_WGS[0]) < 1e-5 and abs(added["lat"] - EDGE_WGS[1]) < 1e-5


def test_a_point_50_km_away_is_not_blamed_on_gcj02(sample):
    line = refused(sample.db, *add_at(sample.db, 117.5, 40.7))  # about 52 km east of the district's edge
    assert line == ("monitor: 坐标 117.500000,40.700000 不在本区内；"
                    "point 117.500000,40.700000 is outside the district")


def test_import_gives_each_outside_row_its_own_hint(district, tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("name,kind,subtype,lon,lat\n"
                 f"手机,heating,boiler_room,{EDGE_GCJ[0]},{EDGE_GCJ[1]}\n"
                 "远处,heating,boiler_room,117.5,40.7\n"
                 f"好,heating,boiler_room,{TANGHEKOU[0]},{TANGHEKOU[1]}\n", encoding="utf-8")
    r = run(district.db, "facility", "import", str(f))
    assert r.returncode == 1
    assert "row 2 (手机): 坐标" in r.stderr and r.stderr.count("GCJ-02") == 2  # its Chinese and English hint
    far = next(line for line in r.stderr.splitlines() if "row 3 (远处)" in line)
    assert far.strip() == ("row 3 (远处): 坐标 117.500000,40.700000 不在本区内；"
                           "point 117.500000,40.700000 is outside the district")


def test_outside_hints_name_a_swap_where_both_orders_are_valid():
    """A district where the swapped pair is also a valid point (both values within -90..90):
    the swap is found by locating the swapped point, before any GCJ-02 guess."""
    from monitor.facilities import outside_hints

    def locate(lons, lats):  # a toy district: lon 30..31, lat 31..32
        return ["t" if 30 <= x <= 31 and 31 <= y <= 32 else None for x, y in zip(lons, lats)]

    hints = outside_hints([31.5, 50.0], [30.5, 50.0], None, locate)
    assert "填反" in hints[0][0] and "swapped" in hints[0][1]
    assert hints[1] == ("", "")
