"""The read model the map and the exports share: one picture, so they cannot drift apart."""

from __future__ import annotations

import pytest
from conftest import DEMO_AS_OF, GALE_2021

from monitor import clock
from monitor.config import load
from monitor.readmodel import labels, read
from monitor.store import open_store


@pytest.fixture
def warned(sample):
    sample("alerts", "import", str(GALE_2021), as_of=DEMO_AS_OF)
    sample("followups", as_of=DEMO_AS_OF)
    return sample


def test_the_map_and_the_export_show_the_same_scores_and_warned_townships(warned):
    from monitor import export, mapdata

    config = load(str(warned.config))
    now = clock.from_iso("2021-10-10T01:00:00Z")
    store = open_store(warned.db)
    try:
        model = read(store, config, now)
        page = mapdata.build(store, config, now)
        layers = export.layers(store, config, now)
    finally:
        store.close()
    assert len(model.townships) == 16 and any(t.score > 0 for t in model.townships)
    assert {t.code: t.score for t in model.townships} == {
        r["code"]: r["risk_score"] for r in layers["townships"].rows} == {t["code"]: t["score"] for t in page.townships}
    (gale,) = model.warned  # the Beijing-wide gale covers every township
    assert len(gale.covered) == 16 and gale.area_from == "townships"
    assert [r["township_codes"] for r in layers["warned_areas"].rows] == [",".join(gale.covered)]
    worst = min(model.follow_ups, key=lambda u: u["priority"])
    if worst["facility_id"] is not None:
        assert model.priority_of(worst["facility_id"]) == worst["priority"]


def test_labels_in_words():
    assert labels("heating", "boiler_room", "defect").status_zh
    assert labels("no such kind", None, None).kind_zh is None
