"""Exports for GIS and spreadsheets: townships, facilities, warned areas and follow-ups.

Four layers, the same columns in every format; coordinates WGS-84 longitude/latitude (EPSG:4326);
times as stored (UTC ISO 8601), dates as typed (YYYY-MM-DD):

- `townships`: code, name, name_en, kind, approximate, source, risk_score, followups_p1/p2/p3
  (open follow-ups as the last evaluation left them; the score is the sum of config [priority]
  score_weights over them, as on the map); the boundary polygon.
- `facilities`: every facility with id, ref (the office's own identifier), kind, subtype (codes and Chinese), name, status (code,
  Chinese, open), severity, township code and name, responsible, phone, households, people,
  last_inspected, due, overdue (open and due before today in the district's zone), blocks_heating,
  notes, source, created, updated, and its open follow-ups: followup_priority (the most urgent),
  followup_count, followup_rules, followup_reasons; the point.
- `warned_areas`: the warnings in force at the clock (now, or --as-of): id, hazard (code and
  Chinese), colour, event, headline, sender, sent, onset, expires, area_desc, township_codes and
  township_names (covered by division code or by the area's polygon), area_from ("polygon": the
  message's polygons and circles; "townships": the union of the townships its division codes
  cover, as the map draws it; empty: it covers no township here and has no geometry).
- `follow_ups`: the open follow-ups: id, facility_id, facility_name, kind, township,
  township_name, rule, priority, reason, reason_en, since, alert_ids, causes (JSON); the
  facility's point, or the township's label point for a follow-up about a whole township.

Formats:
- `geojson`: one RFC 7946 FeatureCollection; each feature's `layer` property names its layer.
- `csv`: the facilities layer only (one row per facility, lon and lat columns), UTF-8 with a BOM
  so that Excel reads the Chinese; headers `中文 english`, flags 是/否 and created/updated in the
  district's zone (as the tables show them); text starting with = + - @ gets a leading apostrophe so that
  Excel shows it rather than running it (`tables.cell`); polygons belong in the GeoJSON or the
  GeoPackage.
- `gpkg`: a GeoPackage with the four layers (written by pyogrio), EPSG:4326; opens in QGIS.

Every file is written whole or not at all (`outfile.replacing`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import clock
from .config import Config
from .store import Store

LAYERS = ("townships", "facilities", "warned_areas", "follow_ups")
GEOMETRY_TYPES = {"townships": "MultiPolygon", "facilities": "Point", "warned_areas": "MultiPolygon",
                  "follow_ups": "Point"}
# Each layer's columns and their types (GeoPackage field types; nullable where data may lack them).
SCHEMA: dict[str, dict[str, str]] = {
    "townships": {"code": "str", "name": "str", "name_en": "str", "kind": "str", "approximate": "bool",
                  "source": "str", "risk_score": "float", "followups_p1": "int", "followups_p2": "int",
                  "followups_p3": "int"},
    "facilities": {"id": "int", "ref": "str", "kind": "str", "kind_zh": "str", "subtype": "str", "subtype_zh": "str", "name": "str",
                   "status": "str", "status_zh": "str", "open": "bool", "severity": "str", "township": "str",
                   "township_name": "str", "responsible": "str", "phone": "str", "households": "int",
                   "people": "int", "last_inspected": "str", "due": "str", "overdue": "bool",
                   "blocks_heating": "bool", "notes": "str", "source": "str", "created": "str", "updated": "str",
                   "followup_priority": "str", "followup_count": "int", "followup_rules": "str",
                   "followup_reasons": "str"},
    "warned_areas": {"id": "int", "hazard": "str", "hazard_zh": "str", "colour": "str", "event": "str",
                     "headline": "str", "sender": "str", "sent": "str", "onset": "str", "expires": "str",
                     "area_desc": "str", "township_codes": "str", "township_names": "str", "area_from": "str"},
    "follow_ups": {"id": "int", "facility_id": "int", "facility_name": "str", "kind": "str", "township": "str",
                   "township_name": "str", "rule": "str", "priority": "str", "reason": "str", "reason_en": "str",
                   "since": "str", "alert_ids": "str", "causes": "str"},
}
COLUMNS = {name: tuple(columns) for name, columns in SCHEMA.items()}
PANDAS_TYPES = {"str": "string", "int": "Int64", "float": "float64", "bool": "boolean"}


@dataclass
class Layer:
    name: str
    rows: list[dict]        # properties, in COLUMNS order
    geometries: list        # shapely geometries (or None), one per row


def layers(store: Store, config: Config, now: datetime) -> dict[str, Layer]:
    """The four layers as plain rows and shapely geometries, from the read model the map shares."""
    import shapely

    from . import fieldwork
    from .alertview import span
    from .readmodel import labels, read

    model = read(store, config, now)
    t_rows = [{
        "code": t.code, "name": t.name, "name_en": t.name_en, "kind": t.kind,
        "approximate": t.approximate, "source": t.source,
        "risk_score": t.score,  # the same score the map colours townships by
        **{f"followups_{p.lower()}": t.counts.get(p, 0) for p in ("P1", "P2", "P3")},
    } for t in model.townships]

    today = clock.local_date(now, config.timezone)
    f_rows, f_geoms = [], []
    for f in model.facilities:
        words = labels(f["kind"], f["subtype"], f["status"])
        mine = model.follow_ups_of(f["id"])
        f_rows.append({
            "id": f["id"], "ref": f["ref"], "kind": f["kind"], "kind_zh": words.kind_zh, "subtype": f["subtype"],
            "subtype_zh": words.subtype_zh, "name": f["name"],
            "status": f["status"], "status_zh": words.status_zh, "open": words.open,
            "severity": f["severity"], "township": f["township"], "township_name": f["township_name"],
            "responsible": f["responsible"], "phone": f["phone"], "households": f["households"] or 0,
            "people": f["people"] or 0, "last_inspected": f["last_inspected"], "due": f["due"],
            "overdue": fieldwork.is_overdue(f, today), "blocks_heating": bool(f["blocks_heating"]),
            "notes": f["notes"], "source": f["source"], "created": f["created"], "updated": f["updated"],
            "followup_priority": model.priority_of(f["id"]),
            "followup_count": len(mine),
            "followup_rules": ", ".join(u["rule"] for u in mine) or None,
            "followup_reasons": "; ".join(model.reasons_of(f["id"])) or None,
        })
        f_geoms.append(shapely.Point(f["lon"], f["lat"]))

    a_rows, a_geoms = [], []
    for w in model.warned:
        a = w.alert
        a_rows.append({
            "id": a["id"], "hazard": a.get("hazard"), "hazard_zh": a.get("hazard_zh"), "colour": a.get("colour"),
            "event": a.get("event"), "headline": a.get("headline"), "sender": a.get("sender_name") or a.get("sender"),
            "sent": a.get("sent"), "onset": span(a)[0], "expires": span(a)[1], "area_desc": a.get("area_desc"),
            "township_codes": ",".join(w.covered) or None,
            "township_names": "、".join(w.township_names) or None,
            "area_from": w.area_from,
        })
        a_geoms.append(_polygonal(w.geometry))

    label = {t.code: shapely.Point(t.lon, t.lat) for t in model.townships if t.lon is not None}
    u_rows, u_geoms = [], []
    for u in model.follow_ups:
        u_rows.append({
            "id": u["id"], "facility_id": u["facility_id"], "facility_name": u["name"], "kind": u["kind"],
            "township": u["township_code"], "township_name": u["township_name"], "rule": u["rule"],
            "priority": u["priority"], "reason": u["reason"], "reason_en": u["reason_en"], "since": u["since"],
            "alert_ids": ",".join(str(c["alert"]) for c in u["causes"] if isinstance(c, dict) and "alert" in c)
                         or None,
            "causes": json.dumps(u["causes"], ensure_ascii=False),
        })
        u_geoms.append(shapely.Point(u["lon"], u["lat"]) if u["lon"] is not None
                       else label.get(u["township_code"]))

    return {
        "townships": Layer("townships", t_rows, [_polygonal(t.geometry) for t in model.townships]),
        "facilities": Layer("facilities", f_rows, f_geoms),
        "warned_areas": Layer("warned_areas", a_rows, a_geoms),
        "follow_ups": Layer("follow_ups", u_rows, u_geoms),
    }


def _polygonal(geom):
    """The polygons of `geom` as one MultiPolygon (None if it has none)."""
    import shapely

    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    parts = [p for g in getattr(geom, "geoms", []) for p in (_polygonal(g).geoms if _polygonal(g) else [])]
    return shapely.MultiPolygon(parts) if parts else None


# --- writing ---------------------------------------------------------------------------------

def write(store: Store, config: Config, fmt: str, out: str | Path, now: datetime | None = None) -> dict[str, int]:
    """Write the export `fmt` (geojson, csv, gpkg) to `out`; the number of rows per layer written."""
    from .errors import UsageError
    from .outfile import replacing, write_text

    now = now or clock.now()
    data = layers(store, config, now)
    if fmt == "geojson":
        write_text(out, to_geojson(data), "geojson")
        return {name: len(layer.rows) for name, layer in data.items()}
    if fmt == "csv":
        write_text(out, to_csv(data["facilities"], config.timezone), "csv", encoding="utf-8-sig")
        return {"facilities": len(data["facilities"].rows)}
    if fmt == "gpkg":
        with replacing(out, "gpkg") as tmp:
            tmp.unlink()  # GDAL creates the GeoPackage itself
            to_gpkg(data, tmp)
        return {name: len(layer.rows) for name, layer in data.items()}
    raise UsageError(f"未知的导出格式「{fmt}」，请用 geojson、csv 或 gpkg；unknown export format '{fmt}'; use geojson, "
                     "csv or gpkg")


def to_geojson(data: dict[str, Layer]) -> str:
    import shapely

    features = []
    for name in LAYERS:
        layer = data[name]
        for row, geom in zip(layer.rows, layer.geometries):
            features.append({
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom) if geom is not None else None,
                "properties": {"layer": name, **row},
            })
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False) + "\n"


# The facilities columns' Chinese names, for the CSV's `中文 english` headers.
CSV_ZH = {"kind_zh": "类别中文", "subtype_zh": "子类中文", "status_zh": "状态中文", "open": "待处理",
          "township_name": "乡镇名称", "overdue": "逾期", "created": "创建时间", "updated": "更新时间",
          "followup_priority": "跟进优先级", "followup_count": "跟进数", "followup_rules": "跟进规则",
          "followup_reasons": "跟进原因", "township": "乡镇代码"}
TIME_COLUMNS = ("created", "updated")


def to_csv(layer: Layer, tz: str = "Asia/Shanghai") -> str:
    """The facilities layer as CSV for Excel: headers `中文 english`, flags 是/否, times in the
    district's zone `tz` (as the tables show them); text that Excel would run as a formula is
    neutralised (tables.cell)."""
    import csv
    import io

    from .fieldwork import COLUMN_ZH
    from .tables import cell, heading, yes_no

    names = {**COLUMN_ZH, **CSV_ZH}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([heading(names[c], c) for c in (*COLUMNS["facilities"], "lon", "lat")])
    flags = [c for c, t in SCHEMA["facilities"].items() if t == "bool"]
    for row, geom in zip(layer.rows, layer.geometries):
        shown = {**row, **{c: yes_no(row[c]) for c in flags},
                 **{c: clock.local(row[c], tz) for c in TIME_COLUMNS}}
        w.writerow([cell(_cell(shown[c])) for c in COLUMNS["facilities"]] + [repr(geom.x), repr(geom.y)])
    return buf.getvalue()


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


def to_gpkg(data: dict[str, Layer], path: Path) -> None:
    """One GeoPackage layer per table, EPSG:4326."""
    try:
        import geopandas as gpd
        import pandas as pd
        import pyogrio
    except ImportError as e:  # pragma: no cover - both are dependencies
        from .errors import DataError

        raise DataError(f"导出 GeoPackage 需要安装 geopandas 和 pyogrio；GeoPackage export needs geopandas and pyogrio ({e}); "
                        "install them with `pip install geopandas pyogrio`") from None

    for name in LAYERS:
        layer = data[name]
        frame = pd.DataFrame(layer.rows, columns=list(COLUMNS[name]))
        frame = frame.astype({c: PANDAS_TYPES[t] for c, t in SCHEMA[name].items()})
        gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(layer.geometries, crs="EPSG:4326"))
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG", geometry_type=GEOMETRY_TYPES[name])
