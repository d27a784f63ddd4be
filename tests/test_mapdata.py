"""The map's data read from the store in whole columns (mapdata.read_sites) say the same as the
store's row-by-row methods, on a real database built through the CLI: every facility, its place,
kind, status, township, people and dates, its most urgent follow-up, its last history entries,
every open follow-up in the panel's order, and the townships' risk scores."""

from __future__ import annotations

import pytest
from conftest import CONFIG, DEMO_AS_OF, GALE_2021


@pytest.fixture
def evaluated(sample):
    sample("alerts", "import", str(GALE_2021), as_of=DEMO_AS_OF)
    # a few changes, so that some sites have more history than the map shows
    for _ in range(6):
        sample("facility", "note", "1", "巡查 <b>ok</b>", "--by", "测试", as_of=DEMO_AS_OF)
    sample("facility", "update", "2", "--status", "ok", "--note", "修好了", "--by", "测试", as_of=DEMO_AS_OF)
    sample("followups", "--json", as_of=DEMO_AS_OF)
    return sample


def test_the_columns_agree_with_the_store_row_by_row(evaluated):
    import json

    from monitor import clock
    from monitor import kinds as K
    from monitor.config import load
    from monitor.mapdata import build
    from monitor.readmodel import township_scores  # the read model the export shares
    from monitor.store import Store

    config = load(CONFIG)
    tz = config.timezone
    s = Store.open(evaluated.db)
    try:
        data = build(s, config, replay="test")
        rows = s.select_facilities()
        follow = s.follow_up_list()
        history = s.recent_history(config.map.history_entries)
        scores = township_scores(follow, config)
    finally:
        s.close()
    sites, fu = data.facilities, data.followups
    assert sites.id.tolist() == [r["id"] for r in rows] and len(rows) > 50

    def coded(name, i):
        c = sites.coded[name]
        return None if c.codes[i] < 0 else c.values[c.codes[i]]

    names = json.loads(sites.names)
    texts = {k: (json.loads(v) if isinstance(v, str) else [None if c < 0 else v.values[c] for c in v.codes])
             for k, v in sites.texts.items()}
    best = {}
    for r in follow:
        if r["facility_id"] is not None:
            best[r["facility_id"]] = min(best.get(r["facility_id"], "P9"), r["priority"])
    h_site = sites.history.site.tolist()
    h_cols = {k: (json.loads(v) if isinstance(v, str) else [None if c < 0 else v.values[c] for c in v.codes])
              for k, v in sites.history.coded.items()}
    for i, r in enumerate(rows):
        kind = K.KINDS[r["kind"]]
        assert names[i] == r["name"]
        assert sites.lon[i] == pytest.approx(r["lon"], abs=1e-6) and sites.lat[i] == pytest.approx(r["lat"], abs=1e-6)
        assert (coded("kind", i), coded("status", i), coded("township_name", i)) == (r["kind"], r["status"], r["township_name"])
        assert (coded("kind_zh", i), coded("status_zh", i)) == (kind.zh, kind.statuses[r["status"]].zh)
        assert coded("subtype_zh", i) == kind.subtypes[r["subtype"]][0]
        for k in ("responsible", "phone", "due", "last_inspected", "notes"):
            assert texts[k][i] == r[k], k
        assert (None if r["households"] is None else r["households"]) == (None if sites.households[i] < 0 else sites.households[i])
        p = sites.priority[i]
        assert (None if p < 0 else ("P1", "P2", "P3")[p]) == (best.get(r["id"]))
        mine = [j for j, x in enumerate(h_site) if x == i]
        theirs = history.get(r["id"], [])
        assert [(h_cols["at"][j], h_cols["by"][j], h_cols["old"][j], h_cols["new"][j], h_cols["note"][j]) for j in mine] == [
            (clock.local(h["at"], tz), h["by"], h["old_status"], h["new_status"], h["note"]) for h in theirs]
    assert any(len(v) == config.map.history_entries for v in history.values())  # some were cut to the last few
    # the follow-ups, in the panel's order
    assert len(fu.site) == len(follow) and len(follow) > 10
    index = {r["id"]: i for i, r in enumerate(rows)}

    def fcoded(name, j):
        c = fu.coded[name]
        return None if c.codes[j] < 0 else c.values[c.codes[j]]

    for j, r in enumerate(follow):
        assert fu.site[j] == index.get(r["facility_id"], -1)
        assert ("P1", "P2", "P3")[fu.priority[j]] == r["priority"]
        assert (fcoded("rule", j), fcoded("reason", j), fcoded("township", j), fcoded("kind", j)) == (
            r["rule"], r["reason"], r["township_name"], r["kind"])
        assert fcoded("since", j) == clock.local(r["since"], tz)
    # the townships' risk scores
    got = {t["code"]: (t["score"], t["counts"]) for t in data.townships if t["score"]}
    assert got == {code: (v["score"], v["counts"]) for code, v in scores.items()} and got
