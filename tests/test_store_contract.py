"""One contract, two engines: every test here runs against a SQLite file and a throwaway
PostgreSQL + PostGIS database (tests/pgcluster.py), through the store's API.

Raw SQL appears only where the contract is about the engine refusing it (the append-only
history)."""

from __future__ import annotations

import json
import threading

import pytest

from monitor.store import MIGRATIONS, open_store
from monitor.store.records import FetchRecord, HistoryEntry

AT = "2026-11-20T08:00:00Z"
SITE = {"kind": "heating", "subtype": "boiler_room", "name": "汤河口镇 锅炉房", "lon": 116.63, "lat": 40.73,
        "status": "ok", "households": 120, "ref": "HR-0001", "blocks_heating": 1}


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "monitor.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(target):
    s = open_store(target)
    yield s
    s.close()


def add_site(store, **changes) -> int:
    with store.write():
        (fid,) = store.insert_facilities([{**SITE, **changes}], at=AT, by="导入", note="初始")
    return fid


def test_a_new_database_is_at_the_latest_schema(store):
    assert store.version == len(MIGRATIONS)
    with store.snapshot():
        assert store.count("facilities") == 0


def test_facilities_and_their_history(store):
    fid = add_site(store)
    row = store.facility(fid)
    assert (row["name"], row["households"], row["ref"], row["blocks_heating"]) == ("汤河口镇 锅炉房", 120, "HR-0001", 1)
    with store.write():
        store.set_facility_state(fid, status="defect", updated="2026-11-21T01:00:00Z", last_inspected="2026-11-21",
                                 due="2026-11-25")
        h = store.append_history(fid, at="2026-11-21T01:00:00Z", by="王磊", old_status="ok", new_status="defect",
                                 note="循环泵漏水", inspected="2026-11-21", due="2026-11-25")
    entries = store.history_entries(fid)
    assert all(isinstance(e, HistoryEntry) for e in entries)
    assert [(e.id, e.old_status, e.new_status, e.note) for e in entries] == [
        (h, "ok", "defect", "循环泵漏水"), (entries[1].id, None, "ok", "初始")]
    assert store.facility(fid)["status"] == "defect"
    assert [f["id"] for f in store.select_facilities(kind="heating", due_before="2026-12-01")] == [fid]
    assert [f["id"] for f in store.facilities_named("锅炉")] == [fid]


@pytest.mark.parametrize("statement", ["UPDATE status_history SET note = 'rewritten'", "DELETE FROM status_history"])
def test_history_is_append_only(store, statement):
    fid = add_site(store)
    with pytest.raises(Exception, match="append-only"):
        with store.write():
            store.conn.execute(statement)
    assert [e.note for e in store.history_entries(fid)] == ["初始"]


def test_the_change_token_moves_with_every_commit_and_only_then(store, target):
    add_site(store)
    with store.snapshot() as token:
        pass
    assert store.change_token() == token
    with store.write():
        store.facility(1)  # a write transaction that changes nothing
    assert store.change_token() == token
    other = open_store(target)
    try:
        with other.write():
            other.set_facility_state(1, status="defect", updated=AT, last_inspected=None, due=None)
    finally:
        other.close()
    with store.snapshot() as later:
        assert later != token


def test_a_snapshot_sees_one_state(store, target):
    fid = add_site(store)
    other = open_store(target)
    try:
        with store.snapshot():
            before = store.facility(fid)["status"]
            with other.write():
                other.set_facility_state(fid, status="defect", updated=AT, last_inspected=None, due=None)
            assert store.facility(fid)["status"] == before == "ok"
        assert store.facility(fid)["status"] == "defect"
    finally:
        other.close()


def test_concurrent_writers_lose_no_update_and_get_no_lock_error(store, target):
    """Eight field writers each read a count and write it back plus one, 15 times: under `write()`
    every increment survives and nobody sees a lock error."""
    fid = add_site(store, households=0)
    errors: list[BaseException] = []

    def writer():
        s = open_store(target)
        try:
            for _ in range(15):
                with s.write():
                    n = s.facility(fid)["households"]
                    s.update_facilities([(fid, {"households": n + 1})])
        except BaseException as e:  # noqa: BLE001  (collected, asserted below)
            errors.append(e)
        finally:
            s.close()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.facility(fid)["households"] == 8 * 15


def test_township_geometry_comes_back_byte_for_byte(store):
    from shapely import Polygon, to_wkb

    wkb = to_wkb(Polygon([(116.5, 40.6), (116.8, 40.6), (116.8, 40.9), (116.5, 40.6)]))
    with store.write():
        store.replace_townships([{"code": "110116110000", "name": "汤河口镇", "name_en": "Tanghekou", "kind": "town",
                                  "geometry": wkb, "minx": 116.5, "miny": 40.6, "maxx": 116.8, "maxy": 40.9,
                                  "lon": 116.65, "lat": 40.7, "approximate": 0, "source": "test"}])
    (t,) = store.township_records()
    assert (t.code, t.name, t.geometry) == ("110116110000", "汤河口镇", wkb)
    (bare,) = store.township_records(with_geometry=False)
    assert bare.geometry is None
    assert store.township_lookup("汤河口")["code"] == "110116110000"


def test_an_alert_is_stored_once(store):
    alert = {"source": "cma", "format": "cma", "sender": "北京市气象台", "identifier": "A-1", "sent": AT,
             "raw": "{}", "refs": [["北京市气象台", "A-0", "2026-11-19T08:00:00Z"]], "area": {"type": "Point"}}
    with store.write():
        first = store.insert_alert(alert)
        again = store.insert_alert(alert)
    assert first is not None and again is None
    (found,) = store.find_alert("北京市气象台", "A-1")
    assert found["id"] == first
    assert [r["id"] for r in store.referencing_alerts("北京市气象台", "A-0", "2026-11-19T08:00:00Z", exclude=0)] == [first]
    assert store.alert(first)["area"] == {"type": "Point"}


def test_the_fetch_log(store):
    with store.write():
        store.log_fetch({"source": "cma", "started": AT, "finished": AT, "ok": 1, "etag": "x1"})
        store.log_fetch({"source": "cma", "started": "2026-11-20T09:00:00Z", "ok": 0, "error": "timed out"})
    ok, last = store.fetch_record("cma", ok=True), store.fetch_record("cma")
    assert isinstance(ok, FetchRecord) and ok.etag == "x1" and ok.succeeded
    assert last.error == "timed out" and not last.succeeded
    assert store.fetch_record("nws") is None


def test_follow_ups_open_persist_and_close(store):
    fid = add_site(store)
    row = (fid, None, "heating_season", "P1", "供暖期设备故障", "heating fault", json.dumps(["status"]))
    with store.write():
        assert store.sync_follow_up_rows([row], at=AT) == {"new": 1, "kept": 0, "changed": 0, "closed": 0}
    with store.write():
        assert store.sync_follow_up_rows([row], at="2026-11-21T00:00:00Z")["kept"] == 1
    (open_,) = store.follow_up_list()
    assert (open_["facility_id"], open_["since"], open_["causes"]) == (fid, AT, ["status"])
    (chunk,) = list(store.follow_up_json(at=AT))
    assert json.loads(chunk[0]) | {} == {
        "follow_up_id": open_["id"], "facility_id": fid, "name": "汤河口镇 锅炉房", "township": None, "township_code": None, "kind": "heating",
        "subtype": "boiler_room", "status": "ok", "households": 120, "responsible": None, "phone": None,
        "rule": "heating_season", "priority": "P1", "reason": "供暖期设备故障", "reason_en": "heating fault",
        "since": AT, "closed": None, "new": True, "causes": ["status"]}
    with store.write():
        assert store.sync_follow_up_rows([], at="2026-11-22T00:00:00Z")["closed"] == 1
    assert store.follow_up_list() == []


def test_a_follow_up_that_persists_unchanged_is_not_written(store):
    """Issue 12: a repeat evaluation with nothing changed writes no row (no last_seen rewrite), so
    its transaction does not even move the change token; a changed one is written, last_seen too."""
    fid = add_site(store)
    row = (fid, None, "heating_season", "P1", "供暖期设备故障", "heating fault", "[]")
    with store.write():
        store.sync_follow_up_rows([row], at=AT)
    with store.snapshot() as token:
        pass
    with store.write():
        assert store.sync_follow_up_rows([row], at="2026-11-21T00:00:00Z") == \
            {"new": 0, "kept": 1, "changed": 0, "closed": 0}
    assert store.change_token() == token
    (r,) = store.follow_up_list()
    assert (r["since"], r["last_seen"]) == (AT, AT)
    with store.write():
        assert store.sync_follow_up_rows([(*row[:3], "P2", *row[4:])], at="2026-11-22T00:00:00Z")["changed"] == 1
    (r,) = store.follow_up_list()
    assert (r["priority"], r["since"], r["last_seen"]) == ("P2", AT, "2026-11-22T00:00:00Z")
    assert store.change_token() != token


def test_bookkeeping_left_uncounted_does_not_move_the_change_token(store):
    add_site(store)
    with store.snapshot() as token:
        pass
    with store.write():
        store.log_fetch({"source": "cma", "started": AT, "finished": AT, "ok": 1})
        store.leave_uncounted()
    assert store.change_token() == token and store.fetch_record("cma").succeeded
    with store.write():
        store.log_fetch({"source": "cma", "started": AT, "finished": AT, "ok": 1})
    assert store.change_token() != token


def test_facility_columns_for_the_rule_engine(store):
    a = add_site(store)
    b = add_site(store, name="宝山镇 锅炉房", ref="HR-0002", households=None, blocks_heating=None, status="defect")
    arrays, groups = store.facility_column_arrays({"households": "i8", "lon": "f8"},
                                                  [("kind", "status"), ("township", "subtype")])
    assert list(arrays["households"]) == [120, 0] and a < b
    codes, values = groups[("kind", "status")]
    assert [values[c] for c in codes] == [("heating", "ok"), ("heating", "defect")]
    codes, values = groups[("township", "subtype")]
    assert [values[c] for c in codes] == [(None, "boiler_room")] * 2


def test_meta(store):
    assert store.meta("created_by") is None
    store.set_meta("created_by", "demo")
    assert store.meta("created_by") == "demo"


def test_both_engines_provide_every_interface(store):
    from monitor.store import interfaces as i

    for protocol in (i.Transactions, i.MetaStore, i.TownshipStore, i.FacilityStore, i.AlertStore, i.FollowUpStore,
                     i.FetchLog):
        assert isinstance(store, protocol), protocol.__name__


# --- households and calls (migration 7) ----------------------------------------------------------

HOME = {"ref": "HH-0001", "village_code": "110116110201", "village": "琉璃庙村", "township": "110116110000",
        "heating": "heat_pump", "device": "working", "last_visit": "2025-10-20", "elderly_alone": True,
        "contact": "样例张三", "phone": "13800000001"}


def test_households_and_their_append_only_history(store):
    with store.write():
        (hid,) = store.insert_households([HOME], at=AT, by="导入", note="初始")
    row = store.household(hid)
    assert (row["ref"], row["elderly_alone"], row["disabled"], row["device"]) == ("HH-0001", 1, 0, "working")
    with store.write():
        store.update_households([(hid, {"device": "fault", "updated": "2026-11-21T01:00:00Z"})])
        h = store.append_household_history(hid, at="2026-11-21T01:00:00Z", by="王磊", old_device="working",
                                           new_device="fault", visited=None, note="热泵不启动")
    assert [(e.id, e.old_device, e.new_device, e.note) for e in store.household_history(hid)] == [
        (h, "working", "fault", "热泵不启动"), (store.household_history(hid)[1].id, None, "working", "初始")]
    assert [r["id"] for r in store.select_households(devices=["fault"], vulnerable=True)] == [hid]
    assert store.select_households(heating=["gas_heater"]) == []
    assert list(store.households_by_ref(["HH-0001", "nope"])) == ["HH-0001"]
    for statement in ("UPDATE household_history SET note = 'rewritten'", "DELETE FROM household_history"):
        with pytest.raises(Exception, match="append-only"):
            with store.write():
                store.conn.execute(statement)
    assert len(store.household_history(hid)) == 2


def test_a_ticket_is_stored_once(store):
    call = {"ticket": "2025111600001", "received": "2025-11-16T00:10:00Z", "category": "供暖", "text": "家里暖气不热"}
    with store.write():
        assert store.insert_calls([call, call], at=AT) == 1
    with store.write():
        assert store.insert_calls([call], at=AT) == 0
        store.update_call("2025111600001", {"responded": "2025-11-16T01:00:00Z"})
    assert [(c["ticket"], c["responded"]) for c in store.select_calls()] == [("2025111600001", "2025-11-16T01:00:00Z")]


def test_both_engines_keep_the_household_and_call_contracts(store):
    from monitor.store.interfaces import CallStore, HouseholdStore

    assert isinstance(store, HouseholdStore) and isinstance(store, CallStore)
