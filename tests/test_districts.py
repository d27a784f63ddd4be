"""Districts above townships: Beijing's 16 district outlines loaded with Huairou's townships
inside its district; a warning addressed to a district code covers that district's townships;
`followups --district`; the city view ranks districts by risk. On both engines."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, DEMO_AS_OF, GALE_2021, SAMPLE_2021, Cli

from monitor.store import open_store

BEIJING = DATA / "fastgeocn_tianditu_beijing_16_districts.geojson"


@pytest.fixture(params=["sqlite", "postgresql"])
def city(request, tmp_path):
    db = tmp_path / "monitor.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    cli = Cli(db)
    cli("init")
    cli("facility", "import", str(SAMPLE_2021), as_of=DEMO_AS_OF)
    cli("alerts", "import", str(GALE_2021), as_of=DEMO_AS_OF)  # 北京市气象台's gale: Beijing-wide (110000)
    out = cli("districts", "import", str(BEIJING)).output
    assert "16 districts" in out
    return cli


def test_the_city_view_ranks_districts_by_risk(city):
    city("followups", as_of=DEMO_AS_OF)  # an evaluation: the view reads the follow-ups it recorded
    rows = json.loads(city("districts", "list", "--json", as_of=DEMO_AS_OF).output)
    assert len(rows) == 16
    huairou = rows[0]
    assert (huairou["code"], huairou["name"], huairou["townships"]) == ("110116000000", "怀柔区", 16)
    assert huairou["score"] > 0 and huairou["p1"] + huairou["p2"] + huairou["p3"] > 0
    assert all(r["score"] == 0 and r["townships"] == 0 for r in rows[1:])  # no townships loaded there


def test_followups_by_district(city):
    every = json.loads(city("followups", "--json", as_of=DEMO_AS_OF).output)
    huairou = json.loads(city("followups", "--district", "怀柔区", "--json", as_of=DEMO_AS_OF).output)
    by_code = json.loads(city("followups", "--district", "110116", "--json", as_of=DEMO_AS_OF).output)
    chaoyang = json.loads(city("followups", "--district", "朝阳", "--json", as_of=DEMO_AS_OF).output)
    assert every and huairou == by_code == every and chaoyang == []
    r = city("followups", "--district", "浦东新区", ok=False)
    assert r.exit_code == 2 and "no district '浦东新区'" in r.output


def test_a_warning_to_a_district_code_covers_its_townships(city):
    """The gale is addressed to Beijing (110000); the stored alert covers every Huairou township,
    so a district-level code reaches the townships below it."""
    (alert,) = json.loads(city("alerts", "list", "--json", as_of=DEMO_AS_OF).output)
    assert len(alert["township_codes"]) == 16 and all(c.startswith("110116") for c in alert["township_codes"])


def test_district_outlines_are_kept_byte_for_byte(city):
    s = open_store(str(city.db))
    try:
        rows = s.districts()
        assert len(rows) == 16 and all(isinstance(r["geometry"], bytes) and len(r["geometry"]) > 100 for r in rows)
        import shapely

        huairou = next(r for r in rows if r["name"] == "怀柔区")
        assert shapely.from_wkb(huairou["geometry"]).contains(shapely.Point(116.63, 40.32))  # 怀柔城区
    finally:
        s.close()


def test_townships_are_refused_as_districts(tmp_path):
    cli = Cli(tmp_path / "monitor.db")
    cli("init")
    r = cli("districts", "import", str(DATA.parent.parent / "geodata" / "huairou_townships.geojson"), ok=False)
    assert r.exit_code == 1 and "not districts" in r.output
