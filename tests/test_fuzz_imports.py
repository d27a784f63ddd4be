"""Fuzz: mutated CSV and XLSX documents fed to the facility and townships importers never end in a
traceback, and an import that is refused changes nothing in the database (issue 9, "Done when").

Each example runs the real command (in process, through click, with exceptions not caught by the
test runner: anything but the package's own errors fails the test) against a fresh copy of a
database holding the shipped townships and sample facilities, and compares every table before
and after when the command refused the input. The example count is kept small so that the file
runs in seconds; hypothesis remembers failing examples between runs.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from datetime import datetime

import pytest
import shapely
from conftest import DEMO_AS_OF, REPO, Cli, table_dump
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# GDAL warns (RuntimeWarning) about each damaged WKT it skips; the importer then names the feature
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SAMPLE = REPO / "geodata" / "sample_facilities.csv"
FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A database with the shipped townships and the sample facilities, and a dump of its tables."""
    folder = tmp_path_factory.mktemp("fuzz")
    cli = Cli(folder / "base.db")
    cli("init")
    cli("facility", "import", str(SAMPLE), as_of=DEMO_AS_OF)
    conn = sqlite3.connect(cli.db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return folder, table_dump(cli.db)


def run(base, name: str, data: bytes, *args: str):
    """Import `data` (saved as `name`) into a fresh copy of the base database; the result and the db."""
    folder, before = base
    n = len(list(folder.glob("copy-*.db")))
    db = folder / f"copy-{n}.db"
    shutil.copy(folder / "base.db", db)
    path = folder / f"{n}-{name}"
    path.write_bytes(data)
    cli = Cli(db)
    result = cli(*args, str(path), ok=False)  # an exception other than SystemExit propagates: a traceback
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code != 0:
        assert table_dump(db) == before, f"refused ({result.output.strip()[:300]}) but the database changed"
        assert result.output.strip(), "refused without saying why"
    return result


# --- mutations of a document ------------------------------------------------------------------

TOKENS = [b'"', b",", b"\n", b"\r", b"\r\n", b"\x00", b"\t", b"'", b"=cmd|' /C calc'!A0", b"-", b"+1", b"@",
          b"\xef\xbb\xbf", b"\xff\xfe", b"\xff", b"\x80", "名称".encode("gbk"), "供暖设施".encode("utf-8"),
          b"nan", b"inf", b"-1e999", b"1e309", b"9" * 25, b"0x10", b"2021-02-30", b"\xe2\x80\xae", b"\x1b[31m",
          b"x" * 150_000, b'"' + b"y" * 20_000, b"ref", b"lon", b"lat", b"SAMPLE-0001", b"status", b"unchecked"]


@st.composite
def mutated(draw, doc: bytes) -> bytes:
    data = bytearray(doc)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "line", "bytes"]))
        if op == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 200))]
        elif op == "replace":
            data[at:at + draw(st.integers(1, 20))] = draw(st.sampled_from(TOKENS))
        elif op == "line":  # repeat a line (a row typed twice) or drop one
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines[i:i + 1] = [lines[i]] * draw(st.integers(0, 3))
            data = bytearray(b"\n".join(lines))
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
    return bytes(data)


def facility_doc(n: int = 12) -> bytes:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    return ("\n".join(lines[:1] + lines[1:1 + n]) + "\n").encode("utf-8")


def township_doc() -> bytes:
    fc = json.loads((REPO / "geodata" / "huairou_townships.geojson").read_text(encoding="utf-8"))
    rows = ["code,name,kind,WKT"]
    for f in fc["features"]:
        p = f["properties"]
        rows.append(f'{p["code"]},{p["name"]},{p["kind"]},"{shapely.geometry.shape(f["geometry"]).wkt}"')
    return ("\n".join(rows) + "\n").encode("utf-8")


FACILITIES = facility_doc()
TOWNSHIPS = township_doc()


def test_the_unmutated_documents_import(base):
    assert run(base, "f.csv", FACILITIES, "facility", "import", "--allow-duplicates").exit_code == 0
    assert run(base, "t.csv", TOWNSHIPS, "townships", "import").exit_code == 0


@FUZZ
@given(data=mutated(FACILITIES), encoding=st.sampled_from(["utf-8", "gb18030"]),
       flags=st.sampled_from([(), ("--dry-run",), ("--allow-duplicates",), ("--crs", "gcj02")]))
def test_facility_import_of_mutated_csv(base, data, encoding, flags):
    if encoding != "utf-8":
        data = data.decode("utf-8", "replace").encode(encoding, "replace")
    run(base, "f.csv", data, "facility", "import", *flags)


@FUZZ
@given(data=mutated(TOWNSHIPS), force=st.booleans())
def test_townships_import_of_mutated_csv(base, data, force):
    run(base, "t.csv", data, "townships", "import", *(["--force"] if force else []))


CELLS = st.one_of(
    st.none(), st.booleans(), st.integers(-10 ** 12, 10 ** 12),
    st.floats(allow_nan=False, allow_infinity=False), st.floats(116.0, 117.0), st.floats(40.0, 41.0),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["heating", "供暖设施", "fire", "flood", "boiler_room", "锅炉房", "unchecked", "正常", "=1+1",
                     "-3", "SAMPLE-0001", "", " "]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
)
HEADER = ["ref", "name", "kind", "subtype", "status", "lon", "lat", "households", "due", "notes"]


@FUZZ
@given(header=st.lists(st.sampled_from(HEADER + ["", "名称", "lon"]), min_size=0, max_size=12),
       rows=st.lists(st.lists(CELLS, max_size=12), max_size=6))
def test_facility_import_of_generated_xlsx(base, header, rows):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in [header] + rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    run(base, "f.xlsx", buf.getvalue(), "facility", "import")


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=mutated(FACILITIES))
def test_mutated_bytes_named_xlsx(base, data):
    """A CSV (or garbage) with an .xlsx name, and a workbook with a byte changed, are refused cleanly."""
    buf = io.BytesIO()
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.save(buf)
    raw = bytearray(buf.getvalue())
    raw[len(data) % len(raw)] ^= 0xFF
    run(base, "f.xlsx", data, "facility", "import")
    run(base, "g.xlsx", bytes(raw), "facility", "import")
