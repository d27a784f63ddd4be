"""`monitor facility update`: transitions per kind, notes, who and when, and bad input that writes nothing."""

import sqlite3

import pytest
from conftest import CONFIG, DEMO_AS_OF, Cli, table_dump

# 汤河口镇 seat (GeoNames, WGS-84): inside the district
TANGHEKOU = (116.63712, 40.73456)

# The district's practice, written out here so that a change to monitor/kinds.py that breaks it fails a test.
TRANSITIONS = {
    "heating": {
        "unchecked": {"ok", "defect", "out_of_service"},
        "ok": {"unchecked", "defect", "out_of_service"},
        "defect": {"under_repair", "ok", "out_of_service"},
        "under_repair": {"ok", "defect", "out_of_service"},
        "out_of_service": {"under_repair", "ok", "unchecked"},
    },
    "fire": {
        "open": {"rectifying", "rectified"},
        "rectifying": {"rectified", "open"},
        "rectified": {"verified", "open"},
        "verified": {"open"},
    },
    "flood": {
        "damaged": {"temporarily_restored", "under_repair", "repaired"},
        "temporarily_restored": {"under_repair", "repaired", "damaged"},
        "under_repair": {"repaired", "temporarily_restored", "damaged"},
        "repaired": {"accepted", "under_repair", "damaged"},
        "accepted": {"damaged"},
    },
}
NEEDS_NOTE = {
    ("heating", "defect", "ok"), ("heating", "under_repair", "ok"), ("heating", "out_of_service", "ok"),
    ("fire", "open", "rectified"), ("fire", "rectifying", "rectified"), ("fire", "rectified", "verified"),
    ("flood", "repaired", "accepted"),
}
SUBTYPE = {"heating": "boiler_room", "fire": "old_wiring", "flood": "road"}


def add_facilities(cli: Cli, tmp_path, rows: list[tuple[str, str, str]], name="f.csv", as_of=DEMO_AS_OF) -> None:
    """Import (name, kind, status) rows at the 汤河口 seat."""
    f = tmp_path / name
    f.write_text("name,kind,subtype,status,lon,lat,last_inspected,due\n" + "".join(
        f"{n},{k},{SUBTYPE[k]},{s},{TANGHEKOU[0]},{TANGHEKOU[1]},2021-09-01,2021-12-01\n" for n, k, s in rows),
        encoding="utf-8")
    cli("facility", "import", str(f), as_of=as_of)


def facility(db, ref) -> dict:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    col = "id" if isinstance(ref, int) else "name"
    return dict(conn.execute(f"SELECT * FROM facilities WHERE {col} = ?", (ref,)).fetchone())


def history(db, facility_id) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute("SELECT * FROM status_history WHERE facility_id = ? ORDER BY id",
                                          (facility_id,))]


@pytest.fixture
def sites(district, tmp_path) -> Cli:
    """One facility of each kind in each status, named kind:status."""
    add_facilities(district, tmp_path, [(f"{k}:{s}", k, s) for k, table in TRANSITIONS.items() for s in table])
    return district


def test_the_kinds_table_is_the_districts_practice():
    from monitor import kinds as K

    assert {k: {s: set(v) for s, v in kind.transitions.items()} for k, kind in K.KINDS.items()} == TRANSITIONS
    assert {(k, a, b) for k, kind in K.KINDS.items() for a, b in kind.needs_note} == NEEDS_NOTE


@pytest.mark.parametrize("kind", sorted(TRANSITIONS))
def test_every_move_of_the_transition_table(sites, kind):
    """Each allowed move is accepted (with a note where one is needed), each other refused naming the allowed."""
    for old, allowed in TRANSITIONS[kind].items():
        fid = facility(sites.db, f"{kind}:{old}")["id"]
        for new in TRANSITIONS[kind]:
            if new == old:
                continue
            before = table_dump(sites.db)
            r = sites("facility", "update", str(fid), "--status", new, "--by", "测试", ok=False)
            if new not in allowed:
                assert r.exit_code == 2, (old, new, r.output)
                said = r.output.split("allowed next:")[1]
                assert {w for w in said.replace(",", " ").split() if w.isascii()} == allowed, r.output
                assert table_dump(sites.db) == before
                continue
            if (kind, old, new) in NEEDS_NOTE:
                assert r.exit_code == 2 and "needs a note" in r.output, (old, new, r.output)
                assert table_dump(sites.db) == before
                r = sites("facility", "update", str(fid), "--status", new, "--note", "已处理", "--by", "测试")
            assert r.exit_code == 0, (old, new, r.output)
            assert facility(sites.db, fid)["status"] == new
            sites("facility", "undo", str(fid), "--by", "测试")
            assert facility(sites.db, fid)["status"] == old


def test_update_writes_the_facility_and_one_history_row(sample):
    r = sample("facility", "update", "2", "--status", "ok", "--note", "更换循环泵", "--by", "王磊",
               "--inspected", "2021-10-09", "--due", "2021-11-30", as_of="2021-10-10T09:30:00+08:00")
    assert "#2 " in r.output and "维修中 under repair -> 正常 ok" in r.output and "2021-10-10 09:30" in r.output
    f = facility(sample.db, 2)
    assert (f["status"], f["last_inspected"], f["due"], f["updated"]) == (
        "ok", "2021-10-09", "2021-11-30", "2021-10-10T01:30:00Z")
    h = history(sample.db, 2)
    assert len(h) == 2
    assert {k: h[-1][k] for k in ("at", "by", "old_status", "new_status", "note", "inspected", "due", "undoes")} == {
        "at": "2021-10-10T01:30:00Z", "by": "王磊", "old_status": "under_repair", "new_status": "ok",
        "note": "更换循环泵", "inspected": "2021-10-09", "due": "2021-11-30", "undoes": None}


def test_dates_not_given_are_kept(sample):
    before = facility(sample.db, 2)
    sample("facility", "update", "2", "--status", "defect", "--by", "x")
    f = facility(sample.db, 2)
    assert (f["last_inspected"], f["due"]) == (before["last_inspected"], before["due"]) != (None, None)
    assert (history(sample.db, 2)[-1]["inspected"], history(sample.db, 2)[-1]["due"]) == (None, None)


@pytest.mark.parametrize("typed", ["ok", "正常", "OK", "Ok "])
def test_status_by_code_chinese_or_english(sample, typed):
    sample("facility", "update", "1", "--status", typed, "--by", "x")
    assert facility(sample.db, 1)["status"] == "ok"


def test_status_with_a_space_in_english(sample):
    sample("facility", "update", "1", "--status", "out of service", "--by", "x")
    assert facility(sample.db, 1)["status"] == "out_of_service"
    sample("facility", "update", "1", "--status", "under repair", "--by", "x")
    assert facility(sample.db, 1)["status"] == "under_repair"


def test_same_status_records_an_inspection(sample):
    sample("facility", "update", "4", "--status", "ok", "--inspected", "2021-10-10", "--by", "x")
    assert facility(sample.db, 4)["last_inspected"] == "2021-10-10"
    h = history(sample.db, 4)[-1]
    assert (h["old_status"], h["new_status"], h["inspected"]) == ("ok", "ok", "2021-10-10")


def test_inspection_in_the_future_is_refused(sample):
    before = table_dump(sample.db)
    # 2021-10-11 is tomorrow in Beijing at 2021-10-10 09:00 +08:00
    r = sample("facility", "update", "4", "--status", "ok", "--inspected", "2021-10-11", as_of=DEMO_AS_OF, ok=False)
    assert r.exit_code == 2 and "in the future" in r.output
    assert table_dump(sample.db) == before
    # ... and today in Beijing is accepted though it is still the 9th in UTC at 00:30 UTC
    sample("facility", "update", "4", "--status", "ok", "--inspected", "2021-10-10", as_of="2021-10-10T00:30:00Z")


def test_a_name_part_names_a_facility(sample):
    sample("facility", "update", "于家园二区", "--status", "defect", "--by", "x")
    assert facility(sample.db, 2)["status"] == "defect"
    sample("facility", "update", "#2", "--status", "under_repair", "--by", "x")
    assert facility(sample.db, 2)["status"] == "under_repair"


def test_an_ambiguous_name_lists_the_candidates(sample):
    before = table_dump(sample.db)
    r = sample("facility", "update", "汤河口镇 供热管网", "--status", "ok", "--by", "x", ok=False)
    assert r.exit_code == 2
    assert "matches 2 facilities" in r.output
    assert "#152 汤河口镇 供热管网 #1 (汤河口镇)" in r.output and "#153 汤河口镇 供热管网 #2 (汤河口镇)" in r.output
    assert table_dump(sample.db) == before
    # an exact name wins over names that merely contain it
    sample("facility", "update", "汤河口镇 供热管网 #2", "--status", "out_of_service", "--by", "x")
    assert facility(sample.db, 153)["status"] == "out_of_service"


def test_by_defaults_to_config_then_login(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("LOGNAME", "zhangsan")
    monkeypatch.setenv("USER", "zhangsan")
    sample("facility", "update", "1", "--status", "ok")
    assert history(sample.db, 1)[-1]["by"] == "zhangsan"
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.read_text(encoding="utf-8").replace('default_by = ""', 'default_by = "值班员 李"'),
                      encoding="utf-8")
    on_duty = Cli(sample.db, config)
    on_duty("facility", "update", "1", "--status", "defect")
    assert history(sample.db, 1)[-1]["by"] == "值班员 李"
    on_duty("facility", "update", "1", "--status", "out_of_service", "--by", "王磊")
    assert history(sample.db, 1)[-1]["by"] == "王磊"


def test_times_are_stored_utc_and_shown_in_the_districts_zone(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: no cell is folded
    r = sample("facility", "update", "1", "--status", "ok", "--by", "x", as_of="2021-10-10T23:30:00+08:00")
    assert "2021-10-10 23:30" in r.output
    assert history(sample.db, 1)[-1]["at"] == "2021-10-10T15:30:00Z"
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.read_text(encoding="utf-8").replace('timezone = "Asia/Shanghai"', 'timezone = "UTC"'),
                      encoding="utf-8")
    r = Cli(sample.db, config)("facility", "history", "1")
    assert "2021-10-10 15:30" in r.output and "23:30" not in r.output


def test_json_output(sample):
    import json

    r = sample("facility", "update", "1", "--status", "ok", "--by", "x", "--json", as_of=DEMO_AS_OF)
    data = json.loads(r.stdout)
    assert {k: data[k] for k in ("facility_id", "old_status", "new_status", "at", "by", "undoes")} == {
        "facility_id": 1, "old_status": "unchecked", "new_status": "ok", "at": "2021-10-10T01:00:00Z", "by": "x",
        "undoes": None}
    assert data["history_id"] == history(sample.db, 1)[-1]["id"]


SQL = "'); DROP TABLE facilities;--"
BAD = [
    # (arguments, what the one line must say)
    (["99999", "--status", "ok"], "no facility with id 99999"),
    (["1" * 40, "--status", "ok"], "no facility with id"),
    ([SQL, "--status", "ok"], "no facility named like"),
    (['"; DELETE FROM status_history; --', "--status", "ok"], "no facility named like"),
    (["x" * 5000, "--status", "ok"], "neither a facility id nor part of a name"),
    (["汤河口\x1b[31m", "--status", "ok"], "neither a facility id nor part of a name"),
    (["1", "--status", "brokn"], "unknown status 'brokn' for heating 供暖设施; known: unchecked 未检查"),
    (["1", "--status", SQL], "unknown status"),
    (["1", "--status", ""], "is not a status"),
    (["1", "--status", "under_repair"], "allowed next: ok 正常, defect 有缺陷, out_of_service 停用"),
    (["2", "--status", "ok"], "needs a note"),
    (["2", "--status", "ok", "--note", "   "], "needs a note"),
    (["1", "--status", "ok", "--due", "2021-02-30"], "--due: '2021-02-30' is not a date; use YYYY-MM-DD"),
    (["1", "--status", "ok", "--inspected", "yesterday"], "--inspected: 'yesterday' is not a date"),
    (["1", "--status", "ok", "--due", "2021-10-10'; DROP TABLE x"], "is not a date"),
    (["1", "--status", "ok", "--note", "a\x00b"], "--note contains control characters"),
    (["1", "--status", "ok", "--note", "red\x1b[31m"], "--note contains control characters"),
    (["1", "--status", "ok", "--note", "\u202eevil"], "--note contains control characters"),
    (["1", "--status", "ok", "--note", "长" * 501], "--note is 501 characters long; at most 500"),
    (["1", "--status", "ok", "--by", "x\ny"], "--by contains control characters"),
    (["1", "--status", "ok", "--by", "王" * 61], "--by is 61 characters long"),
]


@pytest.mark.parametrize("args,says", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_is_one_line_and_writes_nothing(sample, args, says):
    before = table_dump(sample.db)
    r = sample("facility", "update", *args, ok=False)
    assert r.exit_code in (1, 2)
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("monitor: "), r.output
    assert says in lines[0], lines[0]
    assert "\x1b" not in r.output and "\x00" not in r.output  # typed controls are not echoed raw
    assert table_dump(sample.db) == before


def test_quotes_and_sql_are_stored_as_typed(sample):
    note = SQL + ' "引号" 100% _x_ \\ ;'
    sample("facility", "update", "1", "--status", "ok", "--note", note, "--by", "O'Brien; --")
    h = history(sample.db, 1)[-1]
    assert (h["note"], h["by"]) == (note, "O'Brien; --")
    conn = sqlite3.connect(sample.db)
    assert conn.execute("SELECT count(*) FROM facilities").fetchone()[0] == 377
    # and a name with quotes can be found by a part of it
    sample("facility", "update", "1", "--status", "defect", "--by", "x")
    assert "O'Brien" in sample("facility", "history", "1").output


def test_a_note_may_span_lines(sample):
    sample("facility", "update", "2", "--status", "ok", "--note", "更换循环泵\n试运行正常", "--by", "x")
    assert history(sample.db, 2)[-1]["note"] == "更换循环泵\n试运行正常"


def test_update_without_a_database_says_init(cli):
    r = cli("facility", "update", "1", "--status", "ok", ok=False)
    assert r.exit_code == 2 and "monitor init" in r.output
    assert not cli.db.exists()


def test_help_of_every_facility_command(cli):
    from monitor.cli import main

    group = main.commands["facility"]
    assert {"add", "import", "export", "list", "show", "update", "history", "undo"} <= set(group.commands)
    for name, command in group.commands.items():
        r = cli("facility", name, "--help")
        assert command.help and f"facility {name} [OPTIONS]" in r.output
    assert "--status" in cli("facility", "update", "--help").output
