"""Re-importing never duplicates: a facility's `ref` makes a row an update, and a row without one
that repeats a facility is refused unless --allow-duplicates (issue 9, item 3)."""

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys

from conftest import CONFIG, REPO, SAMPLE_2021, sample_rows, table_dump

SAMPLE = SAMPLE_2021  # the fixture the `sample` database was imported from
COLUMNS = list(sample_rows()[0])


def monitor(db, *args, ok=True):
    """`python -m monitor ...` as a real process; its CompletedProcess (stdout and stderr as text)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    r = subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(CONFIG), *map(str, args)],
                       capture_output=True, text=True, env=env, cwd=REPO)
    assert "Traceback" not in r.stderr, r.stderr
    if ok:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def write_csv(path, rows, columns=None):
    columns = columns or list(rows[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def count(db, where="1"):
    return sqlite3.connect(db).execute(f"SELECT count(*) FROM facilities WHERE {where}").fetchone()[0]


def facility(db, ref):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return dict(conn.execute("SELECT * FROM facilities WHERE ref = ?", (ref,)).fetchone())


def history(db, facility_id):
    return sqlite3.connect(db).execute(
        "SELECT old_status, new_status, note, inspected, due FROM status_history WHERE facility_id = ? ORDER BY id",
        (facility_id,)).fetchall()


def test_reimporting_the_same_file_adds_nothing(sample):
    n = len(sample_rows())
    r = monitor(sample.db, "facility", "import", SAMPLE)
    assert f"unchanged {n}" in r.stdout and "added 0" in r.stdout
    assert count(sample.db) == n  # not 2 n
    # name lookups still find one facility
    name = sample_rows()[0]["name"]
    shown = monitor(sample.db, "facility", "show", name, "--json")
    assert json.loads(shown.stdout)["ref"] == "SAMPLE-0001"


def test_a_known_ref_updates_through_the_transition_rules(sample, tmp_path):
    row = dict(sample_rows()[0])  # SAMPLE-0001, a heating site, unchecked
    assert (row["ref"], row["kind"], row["status"]) == ("SAMPLE-0001", "heating", "unchecked")
    before = facility(sample.db, "SAMPLE-0001")
    write_csv(tmp_path / "u.csv", [{**row, "status": "defect", "phone": "13900000000", "due": "2021-12-01"}])
    r = monitor(sample.db, "facility", "import", tmp_path / "u.csv", "--by", "王磊")
    assert "updated 1" in r.stdout and "added 0" in r.stdout
    after = facility(sample.db, "SAMPLE-0001")
    assert after["id"] == before["id"] and count(sample.db) == len(sample_rows())
    assert (after["status"], after["phone"], after["due"]) == ("defect", "13900000000", "2021-12-01")
    # the change is in the history, after the creation, never an overwrite
    assert history(sample.db, before["id"]) == [
        (None, "unchecked", "导入 imported from sample_facilities_2021.csv", None, "2021-10-08"),
        ("unchecked", "defect", "导入 imported from u.csv", None, "2021-12-01")]

    # defect -> ok closes the fault: the row must say what was done, in its notes
    dump = table_dump(sample.db)
    write_csv(tmp_path / "bad.csv", [{**row, "status": "ok", "notes": ""}])
    r = monitor(sample.db, "facility", "import", tmp_path / "bad.csv", ok=False)
    assert r.returncode == 1 and "needs the notes column to say what was done" in r.stderr
    assert table_dump(sample.db) == dump
    write_csv(tmp_path / "fixed.csv", [{**row, "status": "ok", "notes": "更换循环泵", "last_inspected": "2021-12-02",
                                                      "due": "2021-12-01"}])
    monitor(sample.db, "facility", "import", tmp_path / "fixed.csv")
    assert history(sample.db, before["id"])[-1] == (
        "defect", "ok", "导入 imported from fixed.csv: 更换循环泵", "2021-12-02", None)


def test_a_forbidden_move_is_refused_and_nothing_changes(sample, tmp_path):
    row = dict(sample_rows()[0])
    write_csv(tmp_path / "ok.csv", [{**row, "status": "ok"}])
    monitor(sample.db, "facility", "import", tmp_path / "ok.csv")
    dump = table_dump(sample.db)
    # heating ok -> under_repair is not a move the table allows
    write_csv(tmp_path / "bad.csv", [{**sample_rows()[1], "phone": "1"}, {**row, "status": "under_repair"}])
    r = monitor(sample.db, "facility", "import", tmp_path / "bad.csv", ok=False)
    assert r.returncode == 1
    assert "row 3 (泉河街道馥郁苑社区 燃气壁挂炉): ref 'SAMPLE-0001'" in r.stderr
    assert "正常 ok 不能改为 cannot become 维修中 under repair" in r.stderr
    assert "nothing imported" in r.stderr
    assert table_dump(sample.db) == dump  # the good row before it was not imported either


def test_rows_repeating_a_facility_are_refused_unless_allowed(sample, tmp_path):
    row = {k: v for k, v in sample_rows()[0].items() if k != "ref"}
    moved = {**row, "lon": f"{float(row['lon']) + 0.00003:.6f}"}  # about 2.5 m east
    dump = table_dump(sample.db)
    write_csv(tmp_path / "again.csv", [moved])
    r = monitor(sample.db, "facility", "import", tmp_path / "again.csv", ok=False)
    assert r.returncode == 1
    assert "row 2 (泉河街道馥郁苑社区 燃气壁挂炉): 与已有设施 #1 重复 repeats facility #1" in r.stderr
    assert "ref SAMPLE-0001" in r.stderr and "--allow-duplicates" in r.stderr
    assert table_dump(sample.db) == dump
    # far enough away it is another site of the same name
    far = {**row, "lon": f"{float(row['lon']) + 0.001:.6f}"}  # about 85 m
    write_csv(tmp_path / "far.csv", [far])
    monitor(sample.db, "facility", "import", tmp_path / "far.csv")
    # the office says it is another site
    r = monitor(sample.db, "facility", "import", tmp_path / "again.csv", "--allow-duplicates")
    assert "added 1" in r.stdout
    assert count(sample.db, "name = '泉河街道馥郁苑社区 燃气壁挂炉'") == 3


def test_rows_repeating_each_other_in_one_file_are_refused(district, tmp_path):
    rows = [{k: v for k, v in r.items() if k != "ref"} for r in sample_rows()[:3]]
    write_csv(tmp_path / "twice.csv", rows + [rows[1]])
    r = monitor(district.db, "facility", "import", tmp_path / "twice.csv", ok=False)
    assert r.returncode == 1 and "row 5 (" in r.stderr and "repeats row 3" in r.stderr
    assert count(district.db) == 0
    # the same ref twice in one file
    write_csv(tmp_path / "refs.csv", [sample_rows()[0], sample_rows()[0]])
    r = monitor(district.db, "facility", "import", tmp_path / "refs.csv", ok=False)
    assert "ref 'SAMPLE-0001' is given twice (first in row 2)" in r.stderr
    assert count(district.db) == 0


def test_dry_run_shows_added_updated_and_refused(sample, tmp_path):
    rows = sample_rows()
    new = {**rows[5], "ref": "NEW-1", "name": "新建 锅炉房"}
    changed = {**rows[0], "status": "ok"}
    repeat = {k: v for k, v in rows[2].items() if k != "ref"}
    write_csv(tmp_path / "mix.csv", [new, changed, rows[1], repeat])
    dump = table_dump(sample.db)
    r = monitor(sample.db, "facility", "import", "--dry-run", tmp_path / "mix.csv", ok=False)
    assert r.returncode == 1
    assert "would import 2 facilities" in r.stdout
    assert "added 1, 更新 updated 1, 未变 unchanged 1" in r.stdout
    assert "would refuse 1 row(s) (1 repeating a facility)" in r.stdout and "row 5" in r.stdout
    assert table_dump(sample.db) == dump
    write_csv(tmp_path / "mix.csv", [new, changed, rows[1]])
    r = monitor(sample.db, "facility", "import", "--dry-run", tmp_path / "mix.csv")
    assert "would import 2 facilities" in r.stdout and "refuse" not in r.stdout
    assert table_dump(sample.db) == dump


def test_an_export_imports_back_as_updates(sample, tmp_path):
    dump = table_dump(sample.db)
    for name, export in (("f.geojson", ["facility", "export", "--format", "geojson"]),
                         ("district.csv", ["export", "--format", "csv"])):
        monitor(sample.db, *export, "--out", tmp_path / name)
        r = monitor(sample.db, "facility", "import", tmp_path / name)
        assert f"unchanged {len(sample_rows())}" in r.stdout, name
        assert table_dump(sample.db) == dump
    out = tmp_path / "export.csv"
    monitor(sample.db, "facility", "export", "--out", out)
    r = monitor(sample.db, "facility", "import", out)
    assert f"unchanged {len(sample_rows())}" in r.stdout
    assert table_dump(sample.db) == dump
    # edited in Excel and brought back: the edits are updates
    text = out.read_text(encoding="utf-8-sig").replace(",姚玉兰,", ",姚玉兰2,")
    out.write_text(text, encoding="utf-8-sig")
    r = monitor(sample.db, "facility", "import", out)
    assert "updated 1" in r.stdout and count(sample.db) == len(sample_rows())
    assert facility(sample.db, "SAMPLE-0001")["responsible"] == "姚玉兰2"


def test_a_new_ref_names_the_same_site_stored_without_one(district, tmp_path):
    row = sample_rows()[0]
    monitor(district.db, "facility", "add", "--kind", row["kind"], "--subtype", row["subtype"], "--name", row["name"],
            "--lon", row["lon"], "--lat", row["lat"])
    write_csv(tmp_path / "r.csv", [row])
    r = monitor(district.db, "facility", "import", tmp_path / "r.csv")
    assert "updated 1" in r.stdout and count(district.db) == 1
    assert facility(district.db, "SAMPLE-0001")["responsible"] == row["responsible"]


def test_add_with_ref_show_and_list(district):
    args = ["facility", "add", "-k", "heating", "-t", "锅炉房", "--name", "汤河口 锅炉房", "--lon", "116.63712",
            "--lat", "40.73456", "--ref", "HR-0001"]
    monitor(district.db, *args)
    assert "HR-0001" in monitor(district.db, "facility", "show", "汤河口").stdout
    assert json.loads(monitor(district.db, "facility", "list", "--json").stdout)[0]["ref"] == "HR-0001"
    dump = table_dump(district.db)
    r = monitor(district.db, *args, ok=False)
    assert r.returncode == 2 and "ref 'HR-0001' already belongs to #1" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert table_dump(district.db) == dump
