"""Synthetic sites for the map benchmark, written as the office's own import table (CSV).

`write_csv(path, n)` writes n facilities around Huairou's real villages (geodata/huairou_places.csv),
each inside the district outline, with names, people, phones, dates and notes as the office types
them, so that `monitor facility import` builds the database the way a district would.
SYNTHETIC data: no row describes a real site.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PLACES = REPO / "geodata" / "huairou_places.csv"
DISTRICT = REPO / "geodata" / "huairou_district.geojson"

KIND_P = {"heating": 0.5, "fire": 0.25, "flood": 0.25}
STATUS_P = {
    "heating": {"ok": 0.70, "unchecked": 0.12, "defect": 0.08, "under_repair": 0.06, "out_of_service": 0.04},
    "fire": {"open": 0.25, "rectifying": 0.15, "rectified": 0.30, "verified": 0.30},
    "flood": {"damaged": 0.15, "temporarily_restored": 0.15, "under_repair": 0.20, "repaired": 0.25,
              "accepted": 0.25},
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
NOTES = ["", "", "", "入户检查发现管道老化，需更换", "靠近林区，注意防火", "更换循环泵", "临时抢通，待正式修复"]


def _outline():
    import json

    import shapely

    doc = json.loads(DISTRICT.read_text(encoding="utf-8"))
    geoms = [shapely.geometry.shape(f["geometry"]) for f in doc["features"]]
    outline = shapely.union_all(geoms)
    shapely.prepare(outline)
    return outline


def write_csv(path: Path, n: int, seed: int = 20251121) -> Path:
    """n facilities: 80 % scattered around the villages (a few hundred metres), 20 % anywhere in the
    district; every point inside the district outline."""
    import shapely

    from monitor import kinds as K

    rng = np.random.default_rng(seed)
    with open(PLACES, encoding="utf-8") as fh:
        places = [r for r in csv.DictReader(fh)]
    plon = np.array([float(p["lon"]) for p in places])
    plat = np.array([float(p["lat"]) for p in places])
    pname = [p["name"] for p in places]
    outline = _outline()
    minx, miny, maxx, maxy = outline.bounds
    lon, lat, where = np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    while len(lon) < n:
        m = 2 * n
        village = rng.integers(0, len(places), m)
        near = rng.random(m) < 0.8
        x = np.where(near, plon[village] + rng.normal(0, 0.01, m), rng.uniform(minx, maxx, m))
        y = np.where(near, plat[village] + rng.normal(0, 0.008, m), rng.uniform(miny, maxy, m))
        keep = shapely.contains_xy(outline, x, y)
        lon, lat = np.concatenate([lon, x[keep]]), np.concatenate([lat, y[keep]])
        where = np.concatenate([where, village[keep]])
    lon, lat, where = lon[:n], lat[:n], where[:n]
    kinds = rng.choice(list(KIND_P), n, p=list(KIND_P.values()))
    people = [a + b + c for a in SURNAMES for b in GIVEN for c in GIVEN[:8]]
    today = date(2025, 11, 21)
    day = [(today - timedelta(days=d)).isoformat() for d in range(0, 240)]
    subtypes = {k: list(K.KINDS[k].subtypes) for k in K.KINDS}
    status_codes = {k: (list(p), list(p.values())) for k, p in STATUS_P.items()}
    status = np.empty(n, dtype=object)
    for k, (codes, p) in status_codes.items():
        idx = np.flatnonzero(kinds == k)
        status[idx] = rng.choice(codes, len(idx), p=p)
    sub_i = rng.integers(0, 7, n)
    person = rng.integers(0, len(people), n)
    phone = rng.integers(100_000_000, 999_999_999, n)
    households = np.minimum(rng.lognormal(3.5, 1.2, n).astype(int), 5000)
    inspected = rng.integers(0, 200, n)
    never = rng.random(n) < 0.1
    due = rng.integers(0, 120, n)
    has_due = rng.random(n) < 0.6
    note = rng.integers(0, len(NOTES), n)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ref", "name", "kind", "subtype", "status", "lon", "lat", "responsible", "phone",
                    "households", "last_inspected", "due", "notes"])
        for i in range(n):
            k = kinds[i]
            st = subtypes[k][sub_i[i] % len(subtypes[k])]
            w.writerow([f"B{i + 1:07d}", f"{pname[where[i]]}{K.KINDS[k].subtypes[st][0]}{i % 997 + 1}号", k, st,
                        status[i], f"{lon[i]:.6f}", f"{lat[i]:.6f}", people[person[i]], f"13{phone[i]}",
                        int(households[i]), "" if never[i] else day[inspected[i]],
                        day[due[i]] if has_due[i] else "", NOTES[note[i]]])
    return path
