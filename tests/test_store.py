"""The store: pragmas, migrations, BEGIN IMMEDIATE writes, the append-only history."""

import json
import sqlite3
import subprocess
import sys

import pytest

from monitor.alerts import Alert, ingest
from monitor.store import MIGRATIONS, Store


def test_connection_settings(tmp_path):
    s = Store.open(tmp_path / "m.db", busy_timeout_ms=12_345)
    c = s.conn
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert c.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert c.execute("PRAGMA busy_timeout").fetchone()[0] == 12_345


def test_migrations_create_the_tables_once(tmp_path):
    path = tmp_path / "m.db"
    Store.open(path).close()
    s = Store.open(path)  # a second open migrates nothing and fails nothing
    assert s.version == len(MIGRATIONS)
    tables = {r[0] for r in s.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"townships", "facilities", "status_history", "alerts", "fetch_log", "follow_ups"} <= tables


def test_write_takes_the_write_lock_at_begin(tmp_path):
    path = tmp_path / "m.db"
    a = Store.open(path)
    b = sqlite3.connect(path, timeout=0, isolation_level=None)
    with a.write():
        # BEGIN IMMEDIATE holds the write lock from the start, before any write statement
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            b.execute("BEGIN IMMEDIATE")
    b.execute("BEGIN IMMEDIATE")
    b.execute("ROLLBACK")


def test_failed_write_rolls_back(tmp_path):
    s = Store.open(tmp_path / "m.db")
    with pytest.raises(RuntimeError):
        with s.write():
            s.log_fetch({"source": "x", "started": "2021-01-01T00:00:00Z", "ok": 1})
            raise RuntimeError("boom")
    assert s.count("fetch_log") == 0


def test_history_cannot_be_updated_or_deleted(sample):
    conn = sqlite3.connect(sample.db)
    n = conn.execute("SELECT count(*) FROM status_history").fetchone()[0]
    assert n == conn.execute("SELECT count(*) FROM facilities").fetchone()[0] > 0
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE status_history SET note = 'rewritten' WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM status_history WHERE id = 1")
    conn.commit()
    assert conn.execute("SELECT count(*) FROM status_history").fetchone()[0] == n
    assert conn.execute("SELECT note FROM status_history WHERE id = 1").fetchone()[0] != "rewritten"
    # and a facility with history cannot be deleted out from under it
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("DELETE FROM facilities WHERE id = 1")


def test_follow_ups_keep_since_and_close(tmp_path):
    s = Store.open(tmp_path / "m.db")
    with s.write():
        s.replace_townships([{"code": "1", "name": "t", "geometry": b"x"}])
        ids = s.insert_facilities(
            [{"kind": "fire", "subtype": "old_wiring", "name": n, "lon": 1, "lat": 1, "status": "open"}
             for n in ("a", "b")], at="2021-01-01T00:00:00Z", by="t", note="")
    first = [(i, None, "r", "P2", "x", None, "[]") for i in ids]
    with s.write():
        assert s.sync_follow_up_rows(first, at="2021-01-01T00:00:00Z") == {"new": 2, "kept": 0, "changed": 0,
                                                                           "closed": 0}
    with s.write():
        assert s.sync_follow_up_rows(first[:1], at="2021-01-02T00:00:00Z") == {"new": 0, "kept": 1, "changed": 0,
                                                                               "closed": 1}
    open_ = s.follow_up_list()
    assert [(r["facility_id"], r["since"]) for r in open_] == [(ids[0], "2021-01-01T00:00:00Z")]
    closed = s.conn.execute("SELECT facility_id, closed FROM follow_ups WHERE closed IS NOT NULL").fetchall()
    assert [tuple(r) for r in closed] == [(ids[1], "2021-01-02T00:00:00Z")]


def test_an_older_database_is_brought_up_to_date(tmp_path):
    path = tmp_path / "m.db"
    s = Store.open(path)
    update = Alert(source="t", format="cap", sender="s", identifier="u1", sent="2021-01-03T00:00:00Z",
                   msg_type="Update", references=[("s", "a1", "2021-01-01T00:00:00Z"), ("", "a2", None)])
    ingest.save(s, [update, Alert(source="t", format="cap", sender="s", identifier="x", sent="2021-01-03T00:00:00Z")])
    s.close()
    old = sqlite3.connect(path)  # as a version-1 database was: no alerts.withdrawn, no alert_refs yet
    old.execute("DROP TABLE alert_refs")
    old.execute("ALTER TABLE alerts DROP COLUMN withdrawn")
    old.execute("DROP TABLE meta")  # and none of migration 4
    old.execute("DROP INDEX facilities_ref")
    old.execute("DROP INDEX facilities_name")
    for table, column in (("facilities", "ref"), ("alerts", "withdrawn_by"), ("alerts", "withdrawn_note")):
        old.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    for column in ("old_severity", "new_severity"):  # and none of migration 5
        old.execute(f"ALTER TABLE status_history DROP COLUMN {column}")
    old.execute("DROP TABLE districts")  # and none of migration 6
    for table in ("call_history", "calls", "household_history", "households"):  # and none of migration 7
        old.execute(f"DROP TABLE {table}")
    for column in ("assigned_to", "assigned_by", "assigned_at", "acked_by", "acked_at"):
        old.execute(f"ALTER TABLE follow_ups DROP COLUMN {column}")
    old.execute("PRAGMA user_version=1")
    old.commit()
    old.close()
    # opened as the field CLI opens it, in a fresh process: migrations 2 to 6 need no sqlite-utils (nor pandas)
    opened = subprocess.run([sys.executable, "-c", UPGRADE, str(path)], capture_output=True, text=True, check=True)
    got = json.loads(opened.stdout)
    assert got == {"version": len(MIGRATIONS), "heavy": [], "withdrawn": True,
                   "severity_history": ["new_severity", "old_severity"],
                   "refs": [[1, "s", "a1", "2021-01-01T00:00:00Z"], [1, "", "a2", None]]}
    assert len(MIGRATIONS) == 7
    # the back-filled references are the ones storing a message looks up: an earlier message that
    # arrives late is superseded at once (a2 from any sender at any time; a1 only at that sent)
    s = Store.open(path)
    late = [Alert(source="t", format="cap", sender=sender, identifier=i, sent=sent) for sender, i, sent in (
        ("s", "a1", "2021-01-01T00:00:00Z"), ("s", "a1", "2021-01-02T00:00:00Z"),
        ("other", "a2", "2021-01-02T00:00:00Z"))]
    assert ingest.save(s, late).new == 3
    got = [(r["identifier"], r["sent"], r["state"], r["superseded_by"]) for r in s.alerts(order="id")]
    assert got == [("u1", "2021-01-03T00:00:00Z", "active", None), ("x", "2021-01-03T00:00:00Z", "active", None),
                   ("a1", "2021-01-01T00:00:00Z", "updated", 1), ("a1", "2021-01-02T00:00:00Z", "active", None),
                   ("a2", "2021-01-02T00:00:00Z", "updated", 1)]


UPGRADE = """
import json, sys
from monitor.store import Store
s = Store.open(sys.argv[1])
print(json.dumps({
    "version": s.version, "heavy": sorted({"sqlite_utils", "pandas"} & set(sys.modules)),
    "withdrawn": "withdrawn" in {r[1] for r in s.conn.execute("PRAGMA table_info(alerts)")},
    "severity_history": sorted({r[1] for r in s.conn.execute("PRAGMA table_info(status_history)")}
                               & {"old_severity", "new_severity"}),
    "refs": [list(r) for r in s.conn.execute(
        "SELECT alert_id, sender, identifier, sent FROM alert_refs ORDER BY rowid")],
}))
"""


def test_references_match_in_sql_with_an_empty_sender_or_sent_meaning_any(tmp_path):
    s = Store.open(tmp_path / "m.db")

    def row(identifier, refs):
        return {"source": "t", "sender": "s", "identifier": identifier, "sent": "2021-01-05T00:00:00Z",
                "msg_type": "Update", "raw": "", "refs": refs}
    with s.write():
        exact = s.insert_alert(row("exact", [["s", "a", "2021-01-01T00:00:00Z"]]))
        no_sent = s.insert_alert(row("no_sent", [["s", "a", None], ["s", "a", ""]]))  # twice: listed once
        no_sender = s.insert_alert(row("no_sender", '[["", "a", "2021-01-01T00:00:00Z"]]'))  # refs as JSON text
        elsewhere = s.insert_alert(row("elsewhere", [["t", "a", "2021-01-01T00:00:00Z"],
                                                      ["s", "a", "2021-01-02T00:00:00Z"], ["s", "b", None]]))
        s.insert_alert(row("nothing", []))

    def ids(*key, exclude=0):
        return [r["id"] for r in s.referencing_alerts(*key, exclude=exclude)]

    assert ids("s", "a", "2021-01-01T00:00:00Z") == [exact, no_sent, no_sender]
    assert ids("s", "a", "2021-01-01T00:00:00Z", exclude=no_sent) == [exact, no_sender]
    assert ids("s", "a", "2021-01-02T00:00:00Z") == [no_sent, elsewhere]
    assert ids("s", "a", None) == [no_sent]
    assert ids("t", "a", "2021-01-01T00:00:00Z") == [no_sender, elsewhere]
    assert ids("t", "a", "2021-01-03T00:00:00Z") == []
    assert ids("s", "A", None) == [] == ids("s", "", None)
    assert s.count("alert_refs") == 7
