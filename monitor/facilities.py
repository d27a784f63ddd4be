"""Facility records from files and from the command line: parse, validate, normalise.

Validation is all-or-nothing: `validate_rows` checks every row and returns every problem,
each naming the row; the caller imports nothing if there is any. Kinds, subtypes and statuses
come from `kinds`; a point must fall inside one of the district's townships.
This module stays light (no numpy/shapely at import) because `facility add` uses it.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from . import kinds as K
from .errors import DataError

MAX_TEXT = 500
# C0/C1 controls, and the bidi overrides that can make a name display as something else;
# notes may hold line breaks, nothing else may
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MULTILINE_FIELDS = ("notes",)
TEXT_FIELDS = ("name", "responsible", "phone", "notes", "source")
INT_FIELDS = ("households", "people")
DATE_FIELDS = ("last_inspected", "due")


MAX_REF = 100
MAX_GEOJSON_BYTES = 100 * 1024 * 1024  # parsed whole: a bigger file goes in as CSV, which is streamed


@contextmanager
def open_rows(path: Path) -> Iterator[Iterator[dict]]:
    """The rows of a CSV or .xlsx (lon/lat columns) or GeoJSON (Point features) file, as text,
    one at a time (CSV and .xlsx are streamed by `tables`, in UTF-8 or GB18030).

    Each row carries `_where`, how a message names it: "row N" (CSV lines and sheet rows, the
    header is 1) or "feature N" (GeoJSON, from 1).
    """
    from .tables import read_table

    if path.suffix.lower() in (".geojson", ".json") or _starts_with_brace(path):
        yield iter(_geojson_rows(path, _read_text(path)))
        return
    with read_table(path, header=("lon", "lat")) as table:
        yield table.rows


def _starts_with_brace(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
    except OSError as e:
        raise DataError(f"{path}: 无法读取 cannot read ({e.strerror})") from None


def _read_text(path: Path) -> str:
    from .alerts.files import read_capped
    from .tables import sniff_encoding

    data = read_capped(path, MAX_GEOJSON_BYTES)
    try:
        return data.decode(sniff_encoding(data, complete=True))
    except (DataError, UnicodeDecodeError):
        raise DataError(f"{path}: 不是 UTF-8 文本，请另存为 UTF-8；not UTF-8 text; save it as UTF-8") from None


def read_rows(path: Path) -> list[dict]:
    """Every row of `open_rows`, in a list (for small files and tests)."""
    with open_rows(path) as rows:
        return list(rows)


def _geojson_rows(path: Path, text: str) -> list[dict]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: 第 {e.lineno} 行起不是有效的 JSON，请检查文件；not valid JSON (line {e.lineno}: "
                        f"{e.msg})") from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    if not isinstance(features, list):
        raise DataError(f"{path}: 不是点要素的 GeoJSON 集合；not a GeoJSON FeatureCollection of points")
    rows = []
    for n, feat in enumerate(features, start=1):
        feat = feat if isinstance(feat, dict) else {}
        props = dict(feat.get("properties") or {})
        geom = feat.get("geometry") or {}
        coords = geom.get("coordinates") if geom.get("type") == "Point" else None
        props["lon"], props["lat"] = (coords[0], coords[1]) if coords and len(coords) >= 2 else ("", "")
        if geom.get("type") not in (None, "Point"):
            props["_geometry_error"] = f"几何不是点，请只导入点；geometry is a {geom.get('type')}, not a Point"
        rows.append({**props, "_where": f"feature {n}"})
    return rows


def clean_text(value, field: str, *, required: bool = False) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise ValueError(f"{field} 为空，请填写；{field} is empty")
        return None
    if (CONTROL if field in MULTILINE_FIELDS else CONTROL_OR_NEWLINE).search(text):
        raise ValueError(f"{field} 含有控制字符，请删去；{field} contains control characters")
    if len(text) > MAX_TEXT:
        raise ValueError(f"{field} 超过 {MAX_TEXT} 个字符，请缩短；{field} is longer than {MAX_TEXT} characters")
    return text


def parse_date_field(value, field: str) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise ValueError(f"{field}「{text}」不是日期，请写成 YYYY-MM-DD；{field} '{text}' is not a date (YYYY-MM-DD)") from None


def parse_coord(value, field: str, low: float, high: float) -> float:
    try:
        x = float(unicodedata.normalize("NFKC", str(value)).strip())  # full-width digits too
    except (TypeError, ValueError):
        raise ValueError(f"{field}「{value}」不是数字；{field} '{value}' is not a number") from None
    if not math.isfinite(x) or not low <= x <= high:
        raise ValueError(f"{field} {value} 超出范围 {low}..{high}；{field} {value} is out of range ({low}..{high})")
    return x


def parse_lon_lat(lon_value, lat_value) -> tuple[float, float]:
    """Longitude and latitude; a latitude out of range whose pair reads as (lat, lon) is named swapped."""
    lon = parse_coord(lon_value, "lon", -180, 180)
    try:
        lat = parse_coord(lat_value, "lat", -90, 90)
    except ValueError as e:
        try:
            parse_coord(lat_value, "lat", -180, 180)
            if not -90 <= lon <= 90:
                raise ValueError
        except ValueError:
            raise e from None
        raise ValueError(f"经纬度似乎填反了：纬度 {lat_value} 超出 -90..90，而经度 {lon_value} 像纬度，请交换；"
                         f"{e}: longitude and latitude look swapped ({lon_value} looks like a latitude); "
                         "swap them") from None
    return lon, lat


def outside_message(lon: float, lat: float, hint: tuple[str, str] = ("", "")) -> str:
    """What to say of a point outside the district, with its hint from `outside_hints`."""
    return (f"坐标 {lon:.6f},{lat:.6f} 不在本区内{hint[0]}；"
            f"point {lon:.6f},{lat:.6f} is outside the district{hint[1]}")


def outside_hints(lons: list[float], lats: list[float], crs: str | None,
                  locate: Callable[[list[float], list[float]], list]) -> list[tuple[str, str]]:
    """Why each point outside the district may be so, (Chinese, English), empty when nothing says:
    swapped longitude and latitude when the swapped point is inside (`locate` gives a township or
    None per point); GCJ-02 read as WGS-84 only when the point converted from GCJ-02 is inside
    (so a point 50 km away is not blamed on GCJ-02)."""
    hints = [("", "")] * len(lons)
    if not lons:
        return hints
    for i, code in enumerate(locate(list(lats), list(lons))):
        if code is not None:
            hints[i] = ("：经纬度似乎填反了，交换后在区内，请交换经度和纬度",
                        ": longitude and latitude look swapped (swapped, it is inside); swap them")
    if crs is None:
        from .gcj02 import gcj_to_wgs

        todo = [i for i, h in enumerate(hints) if not h[0]]
        shifted = [gcj_to_wgs(lons[i], lats[i]) for i in todo]
        codes = locate([p[0] for p in shifted], [p[1] for p in shifted]) if todo else []
        for i, code in zip(todo, codes):
            if code is not None:
                hints[i] = ("：像是手机地图的 GCJ-02 坐标，请加 --crs gcj02",
                            " (GCJ-02 coordinates from a phone map? add --crs gcj02)")
    return hints


def normalise(row: dict, *, crs: str | None = None) -> dict:
    """One row to a facility record; ValueError naming the first problem."""
    if row.get("_geometry_error"):
        raise ValueError(row["_geometry_error"])
    if row.get("_extra"):
        raise ValueError(f"比表头多 {row['_extra']} 个单元格，请检查逗号；has {row['_extra']} more cells than the header "
                         "has columns")
    # kinds' lookups raise UnknownName (a ValueError) saying what is close and what is known
    kind = K.lookup_kind(clean_text(row.get("kind"), "kind", required=True))
    subtype = K.lookup_subtype(kind, clean_text(row.get("subtype"), "subtype", required=True))
    status = K.lookup_status(kind, clean_text(row.get("status"), "status") or kind.initial)
    severity = clean_text(row.get("severity"), "severity")
    if severity:
        severity = K.lookup_severity(kind, severity)
    lon, lat = parse_lon_lat(row.get("lon"), row.get("lat"))
    if crs == "gcj02":
        from .gcj02 import gcj_to_wgs

        lon, lat = gcj_to_wgs(lon, lat)
    rec = {"kind": kind.code, "subtype": subtype, "status": status, "severity": severity, "lon": lon, "lat": lat}
    rec["ref"] = clean_text(row.get("ref"), "ref")
    if rec["ref"] and len(rec["ref"]) > MAX_REF:
        raise ValueError(f"台账编号 ref 超过 {MAX_REF} 个字符；ref is longer than {MAX_REF} characters")
    for f in TEXT_FIELDS:
        rec[f] = clean_text(row.get(f), f, required=(f == "name"))
    for f in INT_FIELDS:
        v = str(row.get(f) or "").strip()
        if v:
            if not re.fullmatch(r"\d{1,9}", v):
                raise ValueError(f"{f}「{v}」应为不小于 0 的整数；{f} '{v}' is not a whole number >= 0")
            rec[f] = int(v)
        else:
            rec[f] = 0
    for f in DATE_FIELDS:
        rec[f] = parse_date_field(row.get(f), f)
    b = str(row.get("blocks_heating") or "").strip().lower()
    if b not in ("", "0", "1", "true", "false", "yes", "no", "是", "否"):
        raise ValueError(f"阻断供暖 blocks_heating「{b}」应填 是 或 否；blocks_heating '{b}' must be 是/否, yes/no or 1/0")
    rec["blocks_heating"] = int(b in ("1", "true", "yes", "是"))
    return rec


def where(row: dict) -> str:
    """How a message names a row: its `_where` and, when it has one, its name."""
    name = str(row.get("name") or "").strip()
    return row.get("_where", "row") + (f" ({name[:40]})" if name else "")


def validate_rows(rows: list[dict], *, crs: str | None = None) -> tuple[list[dict], list[str]]:
    """Normalise every row (keeping its `_where`); the problems, each naming its row."""
    good, problems = [], []
    for row in rows:
        try:
            good.append({**normalise(row, crs=crs), "_where": row.get("_where", "row")})
        except ValueError as e:
            problems.append(f"{where(row)}: {e}")
    return good, problems
