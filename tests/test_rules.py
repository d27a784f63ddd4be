"""Rules: loading and refusing rule files, the calendar, and vectorised matching."""

from datetime import date

import pytest
from conftest import CONFIG

from monitor.config import load
from monitor.errors import ConfigError
from monitor.rules import evaluate, facility_arrays, follow_ups, load_rules, prepare_areas, season_at

CFG = load(CONFIG)
RULES = {r.id: r for r in load_rules(CFG)}
TOWNSHIPS = ["110116107000", "110116005000"]


def facilities(*rows):
    cols = {c: [] for c in ("id", "kind", "subtype", "status", "lon", "lat", "township", "households",
                            "last_inspected", "due", "blocks_heating")}
    for i, r in enumerate(rows, start=1):
        r = {"id": i, "subtype": {"heating": "boiler_room", "fire": "forest_edge", "flood": "road"}[r["kind"]],
             "township": "110116107000", "households": 0, "last_inspected": None, "due": None,
             "blocks_heating": 0, "lon": 116.6, "lat": 40.7, **r}
        for c in cols:
            cols[c].append(r[c])
    return facility_arrays(cols)


def run(f, alerts, rules, today):
    areas = prepare_areas(alerts, TOWNSHIPS)
    season = season_at(CFG, today)
    hits = evaluate(f, areas, [RULES[r] for r in rules], today=today, season=season, households_raise=200)
    return follow_ups(hits, f, areas, today=today, season=season)


@pytest.mark.parametrize("today, start, pre", [
    (date(2021, 10, 10), date(2021, 11, 15), date(2021, 10, 1)),
    (date(2022, 3, 15), date(2021, 11, 15), date(2021, 10, 1)),   # last day of the season
    (date(2022, 3, 16), date(2022, 11, 15), date(2022, 10, 1)),   # the next one
    (date(2022, 1, 1), date(2021, 11, 15), date(2021, 10, 1)),
])
def test_season(today, start, pre):
    s = season_at(CFG, today)
    assert (s.start, s.preseason_start) == (start, pre)


def test_calendar_edges():
    f = facilities({"kind": "heating", "status": "ok", "last_inspected": "2021-09-30"},
                   {"kind": "heating", "status": "ok", "last_inspected": "2021-10-01"})
    assert run(f, [], ["heating_preseason"], date(2021, 9, 30)) == []          # before the window
    got = run(f, [], ["heating_preseason"], date(2021, 10, 1))                  # first day of the window
    assert [(r["facility_id"], r["priority"]) for r in got] == [(1, "P3")]
    assert "2021-10-01" in got[0]["reason"]
    assert run(f, [], ["heating_preseason"], date(2021, 11, 15)) == []          # the season has opened
    assert [r["facility_id"] for r in run(f, [], ["heating_season"], date(2021, 11, 15))] == [1, 2]


def test_overdue():
    f = facilities({"kind": "fire", "status": "open", "due": "2021-10-09"},
                   {"kind": "fire", "status": "open", "due": "2021-10-10"},
                   {"kind": "fire", "status": "verified", "due": "2021-01-01"})
    got = run(f, [], ["overdue"], date(2021, 10, 10))
    assert [(r["facility_id"], r["reason"]) for r in got] == [(1, "已逾期1天（期限2021-10-09），状态“待整改”")]


def test_beijing_wide_warning_covers_every_township():
    f = facilities({"kind": "fire", "status": "open", "township": "110116107000"},
                   {"kind": "fire", "status": "rectifying", "township": "110116005000", "households": 300},
                   {"kind": "fire", "status": "rectified", "township": "110116005000"},
                   {"kind": "heating", "status": "unchecked", "township": "110116005000"})
    gale = {"id": 7, "hazard": "gale", "colour": "blue", "headline": "大风蓝色预警", "division_codes": ["110000000000"],
            "hazard_zh": "大风", "hazard_en": "Gale"}
    got = run(f, [gale], ["gale_fire", "cold_heating"], date(2021, 10, 10))
    assert [(r["facility_id"], r["rule"], r["priority"]) for r in got] == [(1, "gale_fire", "P2"),
                                                                           (2, "gale_fire", "P1")]
    assert got[0]["causes"][0]["alert"] == 7
    assert got[0]["reason"] == "蓝色大风预警区内消防隐患未整改（待整改）：大风蓝色预警"


def test_polygon_and_colour_threshold():
    f = facilities({"kind": "heating", "status": "defect", "lon": 116.5, "lat": 40.5},
                   {"kind": "heating", "status": "defect", "lon": 116.9, "lat": 40.9})
    square = [[(116.4, 40.4), (116.6, 40.4), (116.6, 40.6), (116.4, 40.6), (116.4, 40.4)]]
    cold = {"id": 1, "hazard": "cold_wave", "colour": "orange", "headline": "寒潮", "area": {"polygons": square}}
    got = run(f, [cold], ["cold_heating"], date(2021, 12, 1))
    assert [(r["facility_id"], r["priority"]) for r in got] == [(1, "P1")]


@pytest.mark.parametrize("snippet, message", [
    ('[[rules]]\nid = "x"\ntrigger = "hazard"\nhazards = ["gail"]\nkinds = ["fire"]\nstatuses = ["open"]\n'
     'priority = "P1"\nreason = "r"\n', "config.toml:4: rule x: unknown hazard 'gail'"),
    ('[[rules]]\nid = "x"\ntrigger = "overdue"\nkinds = ["fire"]\nstatuses = ["opne"]\npriority = "P1"\n'
     'reason = "r"\n', "config.toml:5: rule x: unknown status 'opne'"),
    ('[[rules]]\nid = "x"\ntrigger = "overdue"\nkind = ["fire"]\nstatuses = "open"\npriority = "P1"\n'
     'reason = "r"\n', "config.toml:4: rule x: unknown key 'kind'"),
    ('[[rules]]\nid = "x"\ntrigger = "overdue"\nkinds = ["fire"]\nstatuses = "open"\npriority = "P0"\n'
     'reason = "r"\n', "config.toml:6: rule x: unknown priority 'P0'"),
])
def test_bad_rules_are_refused_with_their_line(tmp_path, snippet, message):
    path = tmp_path / "config.toml"
    path.write_text(snippet, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_rules(load(path))
    assert message in str(e.value)


def test_unknown_config_key_is_refused(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[season]\nheating_strat = '11-15'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="config.toml:2: unknown key 'heating_strat' in \\[season\\]"):
        load(path)
