"""Read township boundary files (GeoJSON, Shapefile, GeoPackage) into plain township records in WGS-84.

`read_townships` turns a GeoJSON, Shapefile (.shp or .zip) or GeoPackage into plain township
dicts in WGS-84, for `monitor townships import FILE [--crs gcj02]`. It is strict: a feature it
cannot use stops the import with one line naming the feature and what to do, and a geometry it
could repair is repaired and reported in the returned warnings.

geopandas, pyogrio, shapely and numpy are imported inside the functions: the field CLI imports
this module without paying for them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from typing import Any

from .errors import DataError

CODE_COLUMNS = (
    "code", "code12", "adcode", "区划代码", "行政区划代码", "代码", "gb", "gbcode", "gb_code",
    "xzqdm", "xzqhdm", "towncode", "town_code", "乡镇代码", "dm",
)
NAME_COLUMNS = (
    "name", "名称", "name_zh", "name_cn", "town", "townname", "town_name", "乡镇", "乡镇名称",
    "乡镇街道", "xzqmc", "mc", "name_1",
)
KIND_COLUMNS = ("kind", "类型", "类别", "town_type")
NAME_EN_COLUMNS = ("name_en", "ename", "en_name", "pinyin", "name_pinyin")
KINDS = ("街道", "镇", "乡", "民族乡")
MAX_FILE_BYTES = 200 * 1024 * 1024  # read whole by GDAL; a district's official boundaries are a few MB
_TRUE = {"1", "true", "t", "yes", "y", "是"}
_FALSE = {"0", "false", "f", "no", "n", "否", ""}


class Townships(list):
    """A list of township dicts, with `.warnings`: what was repaired or chosen while reading."""

    def __init__(self, items=(), warnings=()):
        super().__init__(items)
        self.warnings: list[str] = list(warnings)


def read_townships(path: str | os.PathLike, crs: str | None = None) -> Townships:
    """Read township polygons from `path`: a list of dicts, with the repairs in `.warnings`.

    `crs`: None takes the file's CRS (no CRS at all means WGS-84 longitude/latitude); "gcj02"
    means the coordinates are GCJ-02 longitude/latitude (phone map apps) and are converted to
    WGS-84 vertex by vertex; anything else ("EPSG:4547") names the CRS of the coordinates,
    overriding the file's.

    Each township: code (12 digits for GB/T 2260 codes), name, name_en, kind (街道/镇/乡/民族乡 or
    None), geometry_wkb, minx, miny, maxx, maxy, lon, lat (a point inside), approximate, source.
    """
    gdf, warnings, label = _read_frame(path)
    gdf = _to_wgs84(gdf, crs, label, warnings)

    columns = {str(c).strip().lower(): c for c in gdf.columns if c != gdf.geometry.name}
    code_col = _find(columns, CODE_COLUMNS)
    name_col = _find(columns, NAME_COLUMNS)
    if code_col is None or name_col is None:
        missing = " and ".join(w for w, c in (("code", code_col), ("name", name_col)) if c is None)
        raise DataError(
            f"{label}: 缺少乡镇代码列 code 或名称列 name，请把相应列改名为 code、name；"
            f"no {missing} column (columns are: {', '.join(map(str, columns.values()))}); "
            f"name the division-code column 'code' and the name column 'name'"
        )
    kind_col = _find(columns, KIND_COLUMNS)
    name_en_col = _find(columns, NAME_EN_COLUMNS)
    approx_col = _find(columns, ("approximate",))
    source_col = _find(columns, ("source",))

    townships: list[dict] = []
    seen: dict[str, int] = {}
    for i, (record, geom) in enumerate(zip(gdf.drop(columns=gdf.geometry.name).to_dict("records"),
                                           gdf.geometry), start=1):
        name = _text(record.get(name_col))
        where = f"{label}: feature {i}" + (f" ({name})" if name else "")
        if not name:
            raise DataError(f"{where}: 名称列「{name_col}」为空，请填写或删去该要素；has no name in column '{name_col}'; "
                            "fill it in or remove the feature")
        code = normalise_code(record.get(code_col))
        if not code:
            raise DataError(f"{where}: 代码列「{code_col}」为空，请填写 9 位或 12 位区划代码；"
                            f"has no division code in column '{code_col}'; fill it in "
                            f"(the 9- or 12-digit GB/T 2260 code)")
        if code in seen:
            raise DataError(f"{where}: 代码 {code} 重复（第 {seen[code]} 个要素已用），每个乡镇须有自己的代码；"
                            f"code {code} is used again (first by feature {seen[code]}); "
                            f"each township needs its own code: correct it, or merge the parts into one feature")
        seen[code] = i
        geom = _check_geometry(geom, where, warnings)
        minx, miny, maxx, maxy = geom.bounds
        inside = geom.representative_point()
        townships.append({
            "code": code,
            "name": name,
            "name_en": _text(record.get(name_en_col)) if name_en_col else None,
            "kind": _kind(_text(record.get(kind_col)) if kind_col else None, name),
            "geometry_wkb": geom.wkb,
            "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy,
            "lon": inside.x, "lat": inside.y,
            "approximate": _bool(record.get(approx_col), where) if approx_col else False,
            "source": (_text(record.get(source_col)) if source_col else None) or os.path.basename(label),
        })
    if not townships:
        raise DataError(f"{label}: 文件中没有要素；contains no features")
    return Townships(townships, warnings)


def normalise_code(value: Any) -> str | None:
    """A division code as text: 9-digit township codes get '000', 6-digit district codes are
    zero-padded to 12 digits, Tianditu's "156" prefix is dropped; a code that is not a GB/T 2260
    number is kept as written.

    >>> normalise_code(110116107), normalise_code("156110116"), normalise_code("NYZ072")
    ('110116107000', '110116000000', 'NYZ072')
    """
    if _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    if re.fullmatch(r"156(\d{6}|\d{9})", text):
        text = text[3:]  # Tianditu's "gb": China's ISO 3166 number, then the division code
    if re.fullmatch(r"\d{6}|\d{9}", text):
        return text.ljust(12, "0")
    return text or None


def kind_from_name(name: str) -> str | None:
    """街道 / 镇 / 乡 / 民族乡 from a township name's suffix, or None."""
    n = name.strip()
    if n.endswith(("街道", "街道办事处")):
        return "街道"
    if n.endswith("民族乡") or re.search(r".族乡$", n):
        return "民族乡"
    if n.endswith("镇"):
        return "镇"
    if n.endswith("乡"):
        return "乡"
    return None


# -- reading -------------------------------------------------------------------------------


def _read_frame(path):
    try:
        import geopandas
        import pyogrio
    except ImportError as e:  # pragma: no cover - both are dependencies of the package
        raise DataError(f"读取边界文件需要安装 geopandas 和 pyogrio；reading boundary files needs geopandas and pyogrio: "
                        f"pip install geopandas pyogrio ({e})")

    label = os.fspath(path)
    if not os.path.exists(label):
        raise DataError(f"{label}: 找不到文件，请检查路径；no such file")
    size = os.path.getsize(label)
    if size > MAX_FILE_BYTES:
        raise DataError(f"{label}: 文件过大（{size / 2**20:,.0f} MB，上限 {MAX_FILE_BYTES / 2**20:,.0f} MB）；"
                        f"file too large ({size:,} bytes, the limit is {MAX_FILE_BYTES:,}): township boundaries "
                        f"are a few MB; simplify the polygons or export only the district's townships")
    warnings: list[str] = []
    kwargs: dict[str, Any] = {}
    try:
        layers = pyogrio.list_layers(label)
    except Exception as e:
        raise DataError(f"{label}: 无法作为 GeoJSON、Shapefile 或 GeoPackage 读取；cannot be read as GeoJSON, "
                        f"Shapefile or GeoPackage ({_first_line(e)})") from None
    if len(layers) > 1:
        polygonal = [str(n) for n, t in layers if t and "polygon" in str(t).lower()]
        if not polygonal:
            raise DataError(f"{label}: 没有一个图层含有面，请导出乡镇面图层；none of its layers "
                            f"({', '.join(str(n) for n, _ in layers)}) has polygons")
        kwargs["layer"] = polygonal[0]
        if len(polygonal) > 1:
            warnings.append(f"{label}: {len(polygonal)} polygon layers; read '{polygonal[0]}' "
                            f"(export the township layer alone to choose another)")
    if label.lower().endswith(".shp") and not os.path.exists(os.path.splitext(label)[0] + ".cpg"):
        # Without a .cpg GDAL assumes Latin-1; Chinese shapefiles are UTF-8 or GBK.
        for encoding in ("utf-8", "gbk"):
            try:
                gdf = geopandas.read_file(label, engine="pyogrio", encoding=encoding, **kwargs)
            except UnicodeDecodeError:
                continue
            if encoding != "utf-8":
                warnings.append(f"{label}: no .cpg file and the attributes are not UTF-8; read them as {encoding}")
            return _with_geometry(gdf, label), warnings, label
    try:
        gdf = geopandas.read_file(label, engine="pyogrio", **kwargs)
    except Exception as e:
        raise DataError(f"{label}: 无法读取 cannot be read ({_first_line(e)})") from None
    return _with_geometry(gdf, label), warnings, label


def _with_geometry(gdf, label):
    """The frame if it has a geometry column; a table without one (a CSV, a spreadsheet) is refused."""
    import geopandas

    try:
        has = isinstance(gdf, geopandas.GeoDataFrame) and gdf.geometry is not None
    except AttributeError:  # a GeoDataFrame with no active geometry column
        has = False
    if not has:
        raise DataError(f"{label}: 文件中没有边界图形（只有表格列）；the file has no geometry, only columns: "
                        f"township boundaries must be polygons (GeoJSON, Shapefile or GeoPackage)")
    return gdf


def _to_wgs84(gdf, crs, label, warnings):
    """Reproject to EPSG:4326; GCJ-02 input is converted vertex by vertex afterwards."""
    import numpy as np
    import shapely

    gcj = crs is not None and crs.strip().lower().replace("-", "").replace("_", "") == "gcj02"
    if crs is not None and not gcj:
        declared = gdf.crs
        try:
            gdf = gdf.set_crs(crs, allow_override=True)
        except Exception as e:
            raise DataError(f"--crs {crs} 不是坐标系，请用如 EPSG:4326、EPSG:4547 或 gcj02；"
                            f"--crs {crs}: not a coordinate reference system ({_first_line(e)}); "
                            f"use e.g. EPSG:4326, EPSG:4547 or gcj02") from None
        if declared is not None and not declared.equals(gdf.crs):
            warnings.append(f"{label}: declares {declared.to_string()}; read as {crs} as asked")
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        try:
            gdf = gdf.to_crs("EPSG:4326")
        except Exception as e:
            raise DataError(f"{label}: 无法转换到 WGS-84，请检查文件的坐标系；cannot reproject from {gdf.crs} to WGS-84 "
                            f"({_first_line(e)})") from None
    _check_range(gdf, label)
    if gcj:
        from . import gcj02

        def convert(xy):
            return np.array([gcj02.gcj_to_wgs(float(x), float(y)) for x, y in xy], dtype=float).reshape(-1, 2)

        gdf = gdf.set_geometry(shapely.transform(gdf.geometry.values, convert))
    return gdf


def _check_range(gdf, label):
    import numpy as np
    import shapely

    for i, geom in enumerate(gdf.geometry, start=1):
        if geom is None or geom.is_empty:
            continue
        xy = shapely.get_coordinates(geom)
        bad = ~((np.abs(xy[:, 0]) <= 180) & (np.abs(xy[:, 1]) <= 90))
        if bad.any():
            name = _feature_name(gdf, i - 1)
            x, y = xy[bad][0]
            raise DataError(f"{label}: feature {i}{name}: 坐标不是经纬度，文件使用了未声明的投影坐标系，请补上 .prj 或用 "
                            f"--crs EPSG:xxxx 指定；coordinates ({x:.1f}, {y:.1f}) are not "
                            f"longitude/latitude, so the file uses a projected CRS it does not declare "
                            f"(a Shapefile without its .prj?): add the .prj, or name the CRS with "
                            f"--crs EPSG:xxxx")


def _check_geometry(geom, where, warnings):
    import shapely

    if geom is None or geom.is_empty:
        raise DataError(f"{where}: 没有图形，请画出边界或删去该要素；has no geometry; draw its boundary or remove the "
                        "feature")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise DataError(f"{where}: 图形不是面，乡镇边界须为面，请导出面图层；"
                        f"geometry is a {geom.geom_type}, not a Polygon or MultiPolygon; "
                        f"township boundaries must be areas — export the polygon layer")
    geom = shapely.force_2d(geom)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        geom = polygonal_parts(shapely.make_valid(geom))
        if geom.is_empty:
            raise DataError(f"{where}: 图形无效且修复后为空，请在 QGIS 中修正；"
                            f"geometry is invalid ({reason}) and nothing is left after repair; "
                            f"fix it in QGIS (Vector > Geometry Tools > Check Validity)")
        warnings.append(f"{where}: invalid geometry ({reason}) was repaired")
    return geom


def polygonal_parts(geom):
    """Only the polygonal parts of a geometry, as a Polygon or MultiPolygon (maybe empty)."""
    import shapely
    from shapely.geometry import MultiPolygon

    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys = [p for g in parts for p in shapely.get_parts(g)]
    if not polys:
        return MultiPolygon()
    return polys[0] if len(polys) == 1 else shapely.union_all(polys)


# -- attributes ----------------------------------------------------------------------------


def _find(columns: dict[str, Any], names: Sequence[str]):
    for n in names:
        if n.lower() in columns:
            return columns[n.lower()]
    return None


def _feature_name(gdf, row):
    columns = {str(c).strip().lower(): c for c in gdf.columns}
    col = _find(columns, NAME_COLUMNS)
    name = _text(gdf.iloc[row][col]) if col is not None else None
    return f" ({name})" if name else ""


def _missing(value) -> bool:
    """None, NaN, pandas.NA or NaT: an empty cell, whatever the column's dtype."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return type(value).__name__ in ("NAType", "NaTType")


def _text(value) -> str | None:
    if _missing(value):
        return None
    text = str(value).strip()
    return text or None


def _kind(value: str | None, name: str) -> str | None:
    if value:
        if value in KINDS:
            return value
        if value in ("街道办事处", "subdistrict"):
            return "街道"
        if value.endswith("族乡") or value.lower() == "ethnic township":
            return "民族乡"
        if value.lower() == "town":
            return "镇"
        if value.lower() == "township":
            return "乡"
    return kind_from_name(name)


def _bool(value, where) -> bool:
    if _missing(value):
        return False
    if isinstance(value, (bool, int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DataError(f"{where}: approximate「{value}」应为 true 或 false；approximate = '{value}' is not true/false")


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
