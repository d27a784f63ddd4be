"""An Open-Meteo forecast for one township point to synthetic `Alert`s, one per threshold exceeded.

So that rules still work where no official feed is reachable. Thresholds (config, defaults in
DEFAULT_THRESHOLDS) and how each is read:
- low_temperature: hourly `temperature_2m` (else daily `temperature_2m_min`) at or below
  min_temperature_c;
- cold_wave: a daily minimum at least drop_48h_c below either of the two days before (48 h), from
  daily `temperature_2m_min` or hourly `temperature_2m` grouped by local day. Daily minima, as CMA
  does, because hourly values swing 10-15 °C between day and night in a Huairou winter. (CMA's
  寒潮 also needs the minimum to reach 4 °C or below; not applied: in the heating season it does.)
- gale: hourly `wind_gusts_10m` (else daily `wind_gusts_10m_max`) at or above gust_ms;
- blizzard: snowfall per local day at or above snowfall_mm of water equivalent, as CMA counts
  snow. Open-Meteo gives snowfall as fresh snow depth in cm (or inch); its documented rule is
  7 cm of snow = 10 mm of water, so mm = cm * 10 / 7 (not cm * 10, which would be depth).
Units are read from `*_units` (°C/°F, km/h, m/s, mph, kn, cm, inch); times are local with the
response's `utc_offset_seconds` (or `unixtime`).

Each alert: colour blue at the threshold, rising with CMA-like steps (low temperature 4/8/12 °C
colder; cold wave 2/4/8 °C more drop, as CMA's 8/10/12/16 °C; gusts +3.8/+11.5/+20 m/s, CMA's
force 9/11/13 when the threshold is 17 m/s; snow 1.5/2.5/3.75 times, CMA's 4/6/10/15 mm);
onset and expires span the forecast steps that exceed (first to last); identifier
f"forecast:{township}:{hazard}:{local date of onset}"; sent is `issued` (the fetch time, from
the caller) or else the first time step; division_codes the township code (12 digits where it
is a division code, else as given).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .. import clock
from ..errors import ConfigError, DataError
from ..geodesy import distance_km
from . import geometry, hazards
from .model import Alert, ParsedDocument, division_code, utc

DEFAULT_THRESHOLDS = {"min_temperature_c": -15.0, "drop_48h_c": 8.0, "gust_ms": 17.0, "snowfall_mm": 5.0}
SENDER = "open-meteo"

_TEMP = {"°c": lambda v: v, "°f": lambda v: (v - 32) * 5 / 9}
_WIND = {"km/h": lambda v: v / 3.6, "m/s": lambda v: v, "mph": lambda v: v * 0.44704, "kn": lambda v: v * 0.514444}
_SNOW = {"cm": lambda v: v * 10 / 7, "inch": lambda v: v * 2.54 * 10 / 7, "mm": lambda v: v / 7}

Step = tuple[datetime, datetime, float]  # start, end (UTC), value in our units


def is_forecast(doc: object) -> bool:
    return isinstance(doc, dict) and "latitude" in doc and "longitude" in doc and ("hourly" in doc or "daily" in doc)


def parse_forecast(
    doc: dict,
    *,
    point: tuple[float, float, str],
    thresholds: dict | None = None,
    source: str = "file",
    raw: str = "",
    issued: str | None = None,
) -> ParsedDocument:
    """Alerts for the township at `point` = (lon, lat, code) from one Open-Meteo response."""
    limits = _thresholds(thresholds)
    lon, lat, township = point
    warnings = _distance_warning(doc, lon, lat)
    offset = timezone(timedelta(seconds=int(doc.get("utc_offset_seconds") or 0)))
    hourly, daily = _Block(doc, "hourly", offset, warnings), _Block(doc, "daily", offset, warnings)
    temp = hourly.series("temperature_2m", _TEMP) or daily.series("temperature_2m_min", _TEMP)
    minima = daily.series("temperature_2m_min", _TEMP) or hourly.per_day("temperature_2m", _TEMP, min)
    gusts = (hourly.series("wind_gusts_10m", _WIND) or hourly.series("windgusts_10m", _WIND)
             or daily.series("wind_gusts_10m_max", _WIND) or daily.series("windgusts_10m_max", _WIND))
    snow = daily.series("snowfall_sum", _SNOW) or hourly.per_day("snowfall", _SNOW, sum)

    t, d, g, s = (limits[k] for k in ("min_temperature_c", "drop_48h_c", "gust_ms", "snowfall_mm"))
    checks = [  # hazard, steps (value: larger is worse), colour levels blue..red, what (zh, en), unit
        ("low_temperature", [(a, b, -v) for a, b, v in temp], (-t, -t + 4, -t + 8, -t + 12),
         ("最低气温", "minimum temperature"), "°C"),
        ("cold_wave", _drops(minima), (d, d + 2, d + 4, d + 8), ("48小时降温", "48 h temperature drop"), "°C"),
        ("gale", gusts, (g, g + 3.8, g + 11.5, g + 20), ("阵风", "wind gusts"), "m/s"),
        ("blizzard", snow, (s, s * 1.5, s * 2.5, s * 3.75), ("日降雪量（水当量）", "daily snowfall (water)"), "mm"),
    ]
    first_time = min((a for _, steps, *_ in checks for a, _, _ in steps), default=None)
    sent = utc(issued, "issued", warnings) if issued else clock.iso(first_time)
    alerts = []
    for hazard, steps, levels, (zh, en), unit in checks:
        over = [(a, b, v) for a, b, v in steps if v >= levels[0]]
        if not over:
            continue
        start, end = min(a for a, _, _ in over), max(b for _, b, _ in over)
        worst = max(v for _, _, v in over)
        colour = hazards.COLOURS[sum(worst >= level for level in levels) - 1]
        shown, limit = (-worst, -levels[0]) if hazard == "low_temperature" else (worst, levels[0])
        value, limit = f"{shown:.1f} {unit}", f"{limit:g} {unit}"
        when = f"{start.astimezone(offset):%Y-%m-%d %H:%M} – {end.astimezone(offset):%Y-%m-%d %H:%M} ({offset.tzname(None)})"
        h = hazards.HAZARDS[hazard]
        alerts.append(Alert(
            source=source, format="forecast", sender=SENDER,
            identifier=f"forecast:{township}:{hazard}:{start.astimezone(offset).date().isoformat()}",
            sent=sent, scope="Public", event=f"{h.zh}（预报）", event_en=f"{h.en} (forecast)",
            hazard=hazard, colour=colour, severity=hazards.severity_from_colour(colour),
            urgency="Expected", certainty="Possible",
            onset=clock.iso(start), effective=sent, expires=clock.iso(end),
            headline=f"预报{zh} {value}（阈值 {limit}）",
            headline_en=f"Forecast {en} {value} (threshold {limit})",
            description=f"Open-Meteo 预报 {when}：{zh} {value}，阈值 {limit}。\n"
                        f"Open-Meteo forecast {when}: {en} {value}, threshold {limit}.",
            language="zh-CN", sender_name="Open-Meteo",
            geocodes=[("township", str(township))],
            division_codes=[division_code(str(township)) or str(township)],
            raw=raw, warnings=list(warnings),
        ))
    return ParsedDocument("forecast", alerts, [], warnings)


def _thresholds(given: dict | None) -> dict[str, float]:
    unknown = set(given or {}) - set(DEFAULT_THRESHOLDS)
    if unknown:
        raise ConfigError(f"[forecast] 中有未知的阈值，请检查拼写；unknown forecast threshold(s) {sorted(unknown)}; known: "
                          f"{sorted(DEFAULT_THRESHOLDS)}")
    return {**DEFAULT_THRESHOLDS, **{k: float(v) for k, v in (given or {}).items()}}


class _Block:
    """One `hourly` or `daily` block with its units and times."""

    def __init__(self, doc: dict, name: str, offset: timezone, warnings: list[str]):
        self.data = doc.get(name) if isinstance(doc.get(name), dict) else {}
        self.units = doc.get(f"{name}_units") if isinstance(doc.get(f"{name}_units"), dict) else {}
        self.name, self.offset, self.warnings = name, offset, warnings
        self.step = timedelta(hours=1) if name == "hourly" else timedelta(days=1)
        self.times = [_time(t, self.units.get("time", "iso8601"), offset) for t in self.data.get("time") or []]

    def series(self, variable: str, units: dict) -> list[Step]:
        """(start, end, value in our units) per time step; missing values (null) left out."""
        values = self.data.get(variable)
        if not isinstance(values, list):
            return []
        unit = str(self.units.get(variable, "")).strip().lower()
        convert = units.get(unit)
        if convert is None:
            self.warnings.append(f"{self.name}.{variable} in unknown unit '{unit}'; not used")
            return []
        if len(values) != len(self.times):
            raise DataError(f"Open-Meteo 预报数据不完整；Open-Meteo {self.name}.{variable} has {len(values)} values for "
                            f"{len(self.times)} times")
        try:
            return [(t, t + self.step, convert(float(v))) for t, v in zip(self.times, values) if v is not None]
        except (TypeError, ValueError):
            raise DataError(f"Open-Meteo 预报中有非数字的值；Open-Meteo {self.name}.{variable} holds a value that is not a "
                            "number") from None

    def per_day(self, variable: str, units: dict, combine) -> list[Step]:
        """A series combined per local day (min, sum); days with fewer than 18 hours are left out."""
        days: dict = {}
        for step in self.series(variable, units):
            days.setdefault(step[0].astimezone(self.offset).date(), []).append(step)
        return [
            (min(a for a, _, _ in group), max(b for _, b, _ in group), combine(v for _, _, v in group))
            for group in days.values()
            if len(group) >= 18
        ]


def _time(value: object, fmt: str, offset: timezone) -> datetime:
    try:
        if fmt == "unixtime":
            return datetime.fromtimestamp(int(value), timezone.utc)
        return datetime.fromisoformat(str(value)).replace(tzinfo=offset).astimezone(timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        raise DataError(f"Open-Meteo 预报的时间格式不对；Open-Meteo time '{value}' is not {fmt}") from None


def _drops(minima: list[Step]) -> list[Step]:
    """Per day: how far the minimum fell below the higher of the two days before."""
    out = []
    for i, (start, end, low) in enumerate(minima):
        before = [v for a, _, v in minima[max(0, i - 2):i] if start - a <= timedelta(days=2)]
        if before:
            out.append((start, end, max(before) - low))
    return out


def _distance_warning(doc: dict, lon: float, lat: float) -> list[str]:
    where = geometry.position(doc.get("longitude"), doc.get("latitude"))
    if where is None:  # NaN, Infinity, out of range or not a number: a forecast for no place on Earth
        raise DataError("Open-Meteo 预报没有有效的经纬度；Open-Meteo document without a finite latitude/longitude in range "
                        f"({str(doc.get('latitude'))[:20]}, {str(doc.get('longitude'))[:20]})")
    dlon, dlat = where
    km = distance_km(lon, lat, dlon, dlat)
    if km > 25:
        return [f"forecast is for ({dlat:.3f}, {dlon:.3f}), {km:,.0f} km from the township point ({lat:.3f}, {lon:.3f})"]
    return []

