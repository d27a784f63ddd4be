"""`monitor facility undo` and `history`: compensating changes, an audit trail that is only ever appended to."""

import json
import sqlite3

import pytest
from conftest import table_dump
from test_field_update import add_facilities, facility, history


@pytest.fixture
def site(district, tmp_path):
    """One fire hazard, open, inspected 2021-09-01, due 2021-12-01 (history row 1: its creation)."""
    add_facilities(district, tmp_path, [("村委会旧线路", "fire", "open")])
    return district


def states(db, fid=1):
    f = facility(db, fid)
    return f["status"], f["last_inspected"], f["due"]


def test_undo_restores_the_state_before_and_names_the_change(site):
    site("facility", "update", "1", "--status", "rectifying", "--inspected", "2021-10-05", "--due", "2021-10-31",
         "--by", "王磊", as_of="2021-10-06T10:00:00+08:00")
    before = table_dump(site.db)["status_history"]
    r = site("facility", "undo", "1", "--by", "李娜", as_of="2021-10-06T10:05:00+08:00")
    assert "#1 村委会旧线路: 整改中 rectifying -> 待整改 open (#3 undoes #2, by 李娜, 2021-10-06 10:05)" in r.output
    assert states(site.db) == ("open", "2021-09-01", "2021-12-01")
    h = history(site.db, 1)
    assert table_dump(site.db)["status_history"][:len(before)] == before  # earlier rows untouched
    assert {k: h[-1][k] for k in ("id", "at", "by", "old_status", "new_status", "note", "undoes")} == {
        "id": 3, "at": "2021-10-06T02:05:00Z", "by": "李娜", "old_status": "rectifying", "new_status": "open",
        "note": "撤销 undo #2", "undoes": 2}
    assert facility(site.db, 1)["updated"] == "2021-10-06T02:05:00Z"


def test_undoing_again_goes_back_one_more_change_then_refuses(site):
    site("facility", "update", "1", "--status", "rectifying", "--by", "a")                      # 2
    site("facility", "update", "1", "--status", "rectified", "--note", "已更换线路", "--by", "b")  # 3
    site("facility", "undo", "1", "--by", "c")  # 4 undoes 3
    assert states(site.db)[0] == "rectifying"
    site("facility", "undo", "1", "--by", "c")  # 5 undoes 2
    assert states(site.db)[0] == "open"
    assert [(h["id"], h["undoes"]) for h in history(site.db, 1)] == [(1, None), (2, None), (3, None), (4, 3), (5, 2)]
    before = table_dump(site.db)
    r = site("facility", "undo", "1", "--by", "c", ok=False)
    assert r.exit_code == 2 and r.output.strip() == (
        "monitor: #1: 没有可撤销的变更（只剩创建记录），要改请用 monitor facility update；nothing left to undo (only its "
        "creation is left; "
        "`monitor facility update` records a new change)")
    assert table_dump(site.db) == before


def test_undo_after_new_changes_takes_the_latest_not_undone(site):
    site("facility", "update", "1", "--status", "rectifying", "--by", "a")  # 2 open -> rectifying
    site("facility", "update", "1", "--status", "open", "--by", "a")        # 3 rectifying -> open
    site("facility", "undo", "1", "--by", "a")                              # 4 undoes 3: -> rectifying
    site("facility", "update", "1", "--status", "rectified", "--note", "n", "--by", "a")  # 5 -> rectified
    site("facility", "undo", "1", "--by", "a")                              # 6 undoes 5: -> rectifying
    site("facility", "undo", "1", "--by", "a")                              # 7 undoes 2 (3 is undone already)
    h = history(site.db, 1)
    assert [(x["old_status"], x["new_status"], x["undoes"]) for x in h[1:]] == [
        ("open", "rectifying", None), ("rectifying", "open", None), ("open", "rectifying", 3),
        ("rectifying", "rectified", None), ("rectified", "rectifying", 5), ("rectifying", "open", 2)]
    assert states(site.db)[0] == "open"


def test_undo_is_not_bound_by_the_transition_table(site):
    # rectified -> rectifying is not a move anyone may make, but undoing rectifying -> rectified makes it
    site("facility", "update", "1", "--status", "rectifying", "--by", "a")
    site("facility", "update", "1", "--status", "rectified", "--note", "n", "--by", "a")
    r = site("facility", "update", "1", "--status", "rectifying", "--by", "a", ok=False)
    assert r.exit_code == 2 and "cannot become" in r.output
    site("facility", "undo", "1", "--by", "a")
    assert states(site.db)[0] == "rectifying"


def test_undo_restores_the_dates_the_change_set_and_only_those(site):
    site("facility", "update", "1", "--status", "rectifying", "--inspected", "2021-10-01", "--by", "a")      # 2
    site("facility", "update", "1", "--status", "rectifying", "--inspected", "2021-10-05",
         "--due", "2021-10-20", "--by", "a")                                                                 # 3
    site("facility", "update", "1", "--status", "open", "--by", "a")                                       # 4
    site("facility", "undo", "1", "--by", "a")  # undoes 4, which set no date: dates stay
    assert states(site.db) == ("rectifying", "2021-10-05", "2021-10-20")
    site("facility", "undo", "1", "--by", "a")  # undoes 3
    assert states(site.db) == ("rectifying", "2021-10-01", "2021-12-01")
    site("facility", "update", "1", "--status", "rectifying", "--due", "2021-11-11", "--by", "a")  # 7
    site("facility", "undo", "1", "--by", "a")  # undoes 7: the due date set by the import comes back
    assert states(site.db) == ("rectifying", "2021-10-01", "2021-12-01")
    site("facility", "undo", "1", "--by", "a")  # undoes 2
    assert states(site.db) == ("open", "2021-09-01", "2021-12-01")
    # undo rows record the dates they restored
    assert [(h["inspected"], h["due"]) for h in history(site.db, 1) if h["undoes"]] == [
        ("2021-10-05", "2021-10-20"), ("2021-10-01", "2021-12-01"), ("2021-10-01", "2021-12-01"),
        ("2021-09-01", "2021-12-01")]


def test_undo_of_a_facility_added_without_dates_clears_them(district):
    district("facility", "add", "--kind", "heating", "--subtype", "heat_pump", "--name", "新热泵",
             "--lon", "116.63712", "--lat", "40.73456", "--by", "a")
    district("facility", "update", "新热泵", "--status", "ok", "--inspected", "2021-10-01", "--due", "2022-03-15",
             "--by", "a")
    district("facility", "undo", "新热泵", "--by", "a")
    assert states(district.db) == ("unchecked", None, None)


def test_undo_note_and_bad_input(site):
    site("facility", "update", "1", "--status", "rectifying", "--by", "a")
    before = table_dump(site.db)
    for args, says in [(["2"], "no facility with id 2"), (["1", "--note", "x\x1by"], "control characters"),
                       (["1", "--by", "y" * 100], "--by is 100 characters long")]:
        r = site("facility", "undo", *args, ok=False)
        assert r.exit_code == 2 and says in r.output and len(r.output.strip().splitlines()) == 1
        assert table_dump(site.db) == before
    site("facility", "undo", "旧线路", "--note", "录错了设施 wrong site", "--by", "a")
    assert history(site.db, 1)[-1]["note"] == "录错了设施 wrong site"


def test_history_lists_every_change_newest_first_with_undo_marks(site, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    site("facility", "update", "1", "--status", "rectifying", "--note", "开始整改", "--by", "王磊",
         as_of="2021-10-11T08:00:00+08:00")
    site("facility", "undo", "1", "--by", "李娜", as_of="2021-10-11T08:10:00+08:00")
    data = json.loads(site("facility", "history", "1", "--json").stdout)
    assert [(h["id"], h["undoes"], h["undone_by"]) for h in data["history"]] == [(3, 2, None), (2, None, 3),
                                                                                (1, None, None)]
    out = site("facility", "history", "旧线路").output
    assert out.index("李娜") < out.index("王磊") < out.index("导入")
    assert "撤销 undoes #2" in out and "已撤销 undone by #3" in out and "2021-10-11 08:10" in out
    shown = site("facility", "show", "1", "--history", "2").output
    assert "开始整改" in shown and "导入" not in shown  # only the latest two


def test_history_is_append_only_even_for_the_cli_user(site):
    site("facility", "update", "1", "--status", "rectifying", "--by", "a")
    conn = sqlite3.connect(site.db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE status_history SET new_status = 'verified' WHERE id = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM status_history WHERE id = 2")
