"""Properties of rule evaluation (hypothesis), over random warned areas and random sites:

- a site inside a matching warned area (or on its boundary) is always flagged, one outside never is:
  flagged <=> (kind, status, subtype qualify) and (some qualifying warning covers the site);
- raising a warning's colour never lowers a priority (and never drops a follow-up).

Areas are rectangles (inside/outside decided exactly by comparisons, edges included), triangles
(decided by shapely's scalar `Polygon.intersects(Point)`, not the vectorised path under test),
circles (points at most 0.95 or at least 1.05 radii from the centre: the circle is a 72-gon) and
township division codes. All synthetic.
"""

from __future__ import annotations

import math
from datetime import date

import shapely
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st
from test_rules import CFG, RULES, TOWNSHIPS, facilities

from monitor.rules import STATUS_PAIRS, SUBTYPE_PAIRS, evaluate, prepare_areas
from monitor.ruleset import COLOURS, season_at
from monitor.spatial import EARTH_RADIUS_KM

TODAY = date(2021, 12, 1)
SEASON = season_at(CFG, TODAY)
HAZARD_RULES = [r for r in RULES.values() if r.trigger == "hazard"]
HAZARDS = sorted({h for r in HAZARD_RULES for h in r.hazards}) + ["frost"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def areas(draw):
    """(alert dict, oracle(lon, lat, township) -> bool, a point sampler) for one random warned area."""
    shape = draw(st.sampled_from(["rect", "triangle", "circle", "codes"]))
    x0, y0 = draw(st.floats(116.3, 116.8)), draw(st.floats(40.25, 41.0))
    area, codes = {}, []
    if shape == "rect":
        w, h = draw(st.floats(0.001, 0.3)), draw(st.floats(0.001, 0.3))
        x1, y1 = x0 + w, y0 + h
        area["polygons"] = [[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]

        def inside(x, y, t):
            return x0 <= x <= x1 and y0 <= y <= y1

        def point(fx, fy):
            return x0 + fx * w, y0 + fy * h
    elif shape == "triangle":
        pts = [(x0, y0)] + [(x0 + draw(st.floats(-0.2, 0.2)), y0 + draw(st.floats(-0.2, 0.2))) for _ in range(2)]
        poly = shapely.Polygon(pts)
        if poly.area < 1e-6:
            pts = [(x0, y0), (x0 + 0.1, y0), (x0, y0 + 0.1)]
            poly = shapely.Polygon(pts)
        area["polygons"] = [pts + [pts[0]]]

        def inside(x, y, t):
            return poly.intersects(shapely.Point(x, y))

        def point(fx, fy):  # around the triangle's box
            minx, miny, maxx, maxy = poly.bounds
            return minx + fx * (maxx - minx), miny + fy * (maxy - miny)
    elif shape == "circle":
        km = draw(st.floats(1.0, 20.0))
        area["circles"] = [(x0, y0, km)]
        deg = math.degrees(km / EARTH_RADIUS_KM)

        def inside(x, y, t):
            return math.hypot((x - x0) * math.cos(math.radians(y0)), y - y0) <= deg

        def point(fx, fy):  # by polar position, keeping clear of the 72-gon's chords
            r = fx / 1.5 * 0.95 if fx < 1.0 else 1.05 + fx
            a = fy * 2 * math.pi
            return x0 + r * deg * math.cos(a) / math.cos(math.radians(y0)), y0 + r * deg * math.sin(a)
    else:
        codes = draw(st.lists(st.sampled_from(TOWNSHIPS + ["110116000000", "110000000000", "310000000000"]),
                              min_size=1, max_size=3))

        def inside(x, y, t):  # Beijing and the district cover every township; Shanghai none
            return t is not None and any(c in ("110000000000", "110116000000") or c == t for c in codes)

        def point(fx, fy):
            return x0 + fx * 0.1, y0 + fy * 0.1
    return area, codes, inside, point


fraction = st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(-0.5, 1.5))


@st.composite
def scenes(draw, rule=None):
    """Random warnings (mostly of `rule`'s hazards, so that several overlap) and random sites around them."""
    warned = draw(st.lists(areas(), min_size=1, max_size=4))
    hazards = sorted(rule.hazards) * 3 + HAZARDS if rule else HAZARDS
    alerts = [{"id": i + 1, "hazard": draw(st.sampled_from(hazards)),
               "colour": draw(st.sampled_from([None, *COLOURS])), "format": draw(st.sampled_from(["cap", "forecast"])),
               "headline": f"SYNTHETIC {i}", "area": area, "division_codes": codes}
              for i, (area, codes, _, _) in enumerate(warned)]
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        kind, status = draw(st.sampled_from(STATUS_PAIRS))
        subtype = draw(st.sampled_from([s for k, s in SUBTYPE_PAIRS if k == kind]))
        _, _, _, point = warned[draw(st.integers(0, len(warned) - 1))]
        lon, lat = point(draw(fraction), draw(fraction))
        rows.append({"kind": kind, "subtype": subtype, "status": status, "lon": lon, "lat": lat,
                     "township": draw(st.sampled_from(TOWNSHIPS + [None])),
                     "households": draw(st.sampled_from([0, 10, 199, 200, 5000]))})
    return alerts, [inside for _, _, inside, _ in warned], rows


def hits_of(rule, alerts, rows):
    f = facilities(*rows)
    (h,) = evaluate(f, prepare_areas(alerts, TOWNSHIPS), [rule], today=TODAY, season=SEASON, households_raise=(200,))
    return {int(f.id[i]): int(r) for i, r in zip(h.rows, h.rank)}


@SETTINGS
@given(data=st.data(), rule=st.sampled_from(HAZARD_RULES))
def test_flagged_exactly_when_inside_a_matching_warned_area(data, rule):
    alerts, insides, rows = data.draw(scenes(rule))
    got = hits_of(rule, alerts, rows)
    for n, r in enumerate(rows, start=1):
        qualifies = (r["kind"], r["status"]) in rule.statuses and (not rule.subtypes or
                                                                  (r["kind"], r["subtype"]) in rule.subtypes)
        covered = any(a["hazard"] in rule.hazards
                      and COLOURS.index(a["colour"] or "blue") >= COLOURS.index(rule.min_colour)
                      and inside(r["lon"], r["lat"], r["township"])
                      for a, inside in zip(alerts, insides))
        assert (n in got) == (qualifies and covered), (n, r, alerts)


@SETTINGS
@given(data=st.data(), rule=st.sampled_from(HAZARD_RULES), which=st.integers(0, 3), steps=st.integers(1, 3))
def test_raising_a_warnings_colour_never_lowers_a_priority(data, rule, which, steps):
    alerts, _, rows = data.draw(scenes(rule))
    before = hits_of(rule, alerts, rows)
    j = which % len(alerts)
    level = COLOURS.index(alerts[j]["colour"] or "blue")
    raised = [dict(a) for a in alerts]
    raised[j]["colour"] = COLOURS[min(level + steps, 3)]
    after = hits_of(rule, raised, rows)
    target(float(len(before)))  # steer towards scenes with sites on the list: there the property bites
    for fid, rank in before.items():
        assert fid in after and after[fid] <= rank, (fid, rank, after.get(fid))


@SETTINGS
@given(scene=scenes(), table=st.lists(st.sampled_from([1, 2, 3]), min_size=4, max_size=4),
       min_colour=st.sampled_from(COLOURS))
def test_any_valid_priority_table_is_monotone_in_colour(scene, table, min_colour):
    """Every table the loader accepts (priorities never falling as colours rise) keeps the property."""
    from dataclasses import replace

    ranks = sorted(table, reverse=True)  # blue .. red: P3 .. P1, never falling
    rule = replace(RULES["gale_fire"], hazards=frozenset(HAZARDS), min_colour=min_colour,
                   priority={c: f"P{p}" for c, p in zip(COLOURS, ranks)})
    alerts, _, rows = scene
    before = hits_of(rule, alerts, rows)
    raised = [{**a, "colour": COLOURS[min(COLOURS.index(a["colour"] or "blue") + 1, 3)]} for a in alerts]
    after = hits_of(rule, raised, rows)
    target(float(len(before)))
    assert all(fid in after and after[fid] <= rank for fid, rank in before.items())
