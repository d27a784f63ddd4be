"""The monthly review (月度工作点评): per-township numbers for the work review meeting.

`gather` reads the rows from the store; everything after it is pure functions over those rows.
`build` returns one `Review` that both the printable HTML (`render_html`, template
assets/report.html.j2) and the CSV (`render_csv`) read, so the two cannot disagree.

Definitions (README "The monthly review" repeats them):

- **The month** runs from the 1st, 00:00 to the 1st of the next month, 00:00, in the district's
  time zone. The **cut-off** is the end of the month, or now (the clock, --as-of) while the month
  is still running. Every number is the state at the cut-off, rebuilt from the append-only
  history, so a past month's report comes out the same whenever it is run.
- **Open / closed**: a facility's status at the cut-off (its latest history entry by then) is open
  or closed as `kinds` says. Facilities created after the cut-off do not count.
- **Fault statuses** are the open statuses that mean damage or a defect: every open status except
  heating `unchecked`, which calls for an inspection, not a repair.
- **Undo**: a change that was undone by the cut-off, and the undo itself, are left out of
  everything below; the status the facility ends up in still counts above.
- **A repair** is the first entry into a closed status after a fault began; the fault begins at the
  first entry into a fault status since the facility was created or last closed. **Repair time**
  is from that beginning to the repair; its **median** per kind, in days to one decimal, is over
  the repairs made in the month (a repair made in an earlier month and accepted in this one does
  not count again).
- **Fixed this month**: facilities with a repair in the month, or a move from one closed status to
  another (accepted 已验收, verified 已验收) in it. An inspection that finds an unchecked site ok is
  an inspection, not a fix.
- **Overdue**: open at the cut-off with a due date (as it stood then) before the day after the
  month (a complete month: due on or before its last day) or before today (the current month, as
  `monitor followups` counts it); days overdue are counted to that day.
- **Warnings**: Actual alerts (not Cancel messages) whose validity — from onset (else effective,
  else sent) to ends/expires, cut short when a later message updated or cancelled it — overlaps the
  month up to the cut-off, and whose area covers the township: by division code, or by a polygon or
  circle that overlaps the township's polygon (more than along its border).
- **Follow-ups caused**: follow-ups open at some moment of the month whose causes name the alert.
- **Ranking**: follow-ups open at the cut-off (priorities as last evaluated): most P1 first, then
  most P2, then most overdue items, then the highest risk score (the sum of config
  [priority] score_weights over them), then the township code.
- **No data**: a month by whose cut-off the store holds no facility, no warning and no
  follow-up is reported as such (a note, no ranking, no rank in the CSV), not as sixteen zeros
  ranked 1 to 16.

The printed review carries its district map (`district_svg`: the townships coloured by risk
score in the map's classes, with their names), page numbers and a running header (CSS @page
margin boxes), and an approval block; `write_pdf` prints it to PDF with headless Chromium.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from . import clock
from . import kinds as K
from .errors import UsageError
from .ruleset import COLOUR_ZH, PRIORITIES

KIND_ORDER = tuple(K.KINDS)  # heating, fire, flood
# open statuses that mean "needs an inspection", not "broken": no repair clock runs there
NOT_FAULTS = frozenset({("heating", "unchecked")})

# The numbers of one township (and of the district), in CSV column order; the HTML marks each
# cell that shows one with data-metric="<name>".
KIND_METRICS = ("open", "closed", "new", "fixed", "repairs", "median_repair_days")
METRICS = (("rank", "followups_p1", "followups_p2", "followups_p3", "risk_score", "overdue", "warnings",
            "warning_follow_ups")
           + tuple(f"{m}_{k}" for k in KIND_ORDER for m in KIND_METRICS))


# --- the month ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    month: str              # "2021-10"
    start: datetime         # UTC instant of the 1st, 00:00 local
    end: datetime           # UTC instant of the next month's 1st, 00:00 local
    cutoff: datetime        # the last second counted: end - 1 s, or now while the month runs
    overdue_before: date    # an open item due before this day is overdue
    complete: bool
    tz: str

    @property
    def start_iso(self) -> str:
        return clock.iso(self.start)

    @property
    def cutoff_iso(self) -> str:
        return clock.iso(self.cutoff)


def month_window(month: str | None, now: datetime, tz: str) -> Window:
    """The month `month` ("YYYY-MM"; default: the month of `now` in `tz`) as seen at `now`."""
    zone = ZoneInfo(tz)
    if month is None:
        local_now = now.astimezone(zone)
        year, mon = local_now.year, local_now.month
    else:
        m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", month or "")
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise UsageError(f"--month「{month}」不是月份，请写成 YYYY-MM，如 2021-10；--month '{month}' is not a month; "
                             "use YYYY-MM, e.g. 2021-10")
        year, mon = int(m.group(1)), int(m.group(2))
    start = datetime(year, mon, 1, tzinfo=zone).astimezone(timezone.utc)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=zone).astimezone(timezone.utc)
    label = f"{year:04d}-{mon:02d}"
    if start > now:
        raise UsageError(f"{label} 月还没开始（现在是 {clock.local(now, tz)}），要回看以后的时刻请加 --as-of；--month "
                         f"{label} has not begun yet (it is {clock.local(now, tz)}); pass --as-of to replay a later "
                         "moment")
    complete = now >= end
    cutoff = end - timedelta(seconds=1) if complete else now
    overdue_before = (end if complete else now).astimezone(zone).date()
    return Window(label, start, end, cutoff, overdue_before, complete, tz)


# --- reading the rows -----------------------------------------------------------------------

@dataclass
class Rows:
    """Everything the review reads from the store."""
    townships: list[dict]
    facilities: list[dict]
    history: list[dict]
    alerts: list[dict]
    follow_ups: list[dict]


def gather(store, window: Window) -> Rows:
    return Rows(
        townships=store.townships(),
        facilities=store.select_facilities(),
        history=store.history_until(window.cutoff_iso),
        alerts=store.alerts_overlapping(window.start_iso, window.cutoff_iso),
        follow_ups=store.follow_ups_between(window.start_iso, window.cutoff_iso),
    )


# --- facility histories ---------------------------------------------------------------------

def is_fault(kind: str, status: str | None) -> bool:
    k = K.KINDS.get(kind)
    s = k.statuses.get(status) if k and status else None
    return bool(s and s.open and (kind, status) not in NOT_FAULTS)


def is_closed(kind: str, status: str | None) -> bool:
    k = K.KINDS.get(kind)
    s = k.statuses.get(status) if k and status else None
    return bool(s and not s.open)


@dataclass
class Life:
    """One facility's history up to the cut-off, read as the review needs it."""
    status: str
    due: str | None
    created: str
    repairs: list[dict] = field(default_factory=list)      # {"start", "at", "row"}
    milestones: list[dict] = field(default_factory=list)   # rows that fixed or closed it further


def read_history(kind: str, rows: list[dict]) -> Life:
    """Status and due date at the end of `rows` (oldest first), its repairs and closing moves.

    Status and due date are replayed by fieldwork's recording rule (`fieldwork.state_after`).
    """
    from .fieldwork import state_after

    end = state_after(rows)
    life = Life(status=end["status"], due=end["due"], created=rows[0]["at"])
    undone = {r["undoes"] for r in rows if r["undoes"] is not None}
    fault_start = None
    for r in rows:
        if r["undoes"] is not None or r["id"] in undone:
            continue
        new, old = r["new_status"], r["old_status"]
        if old == new and old is not None:
            continue  # an inspection or a new due date, not a move
        if is_fault(kind, new):
            fault_start = fault_start or r["at"]
        elif is_closed(kind, new):
            if fault_start is not None:
                life.repairs.append({"start": fault_start, "at": r["at"], "row": r})
                life.milestones.append(r)
            elif is_closed(kind, old):
                life.milestones.append(r)
            fault_start = None
    return life


def days_between(a: str, b: str) -> float:
    return (clock.from_iso(b) - clock.from_iso(a)).total_seconds() / 86400


# --- warnings --------------------------------------------------------------------------------

def validity(alert: dict) -> tuple[str, str | None]:
    """(from, until) of a warning message, UTC ISO; until None = open-ended."""
    from .alertview import span

    begins, ends = span(alert)
    cut = alert.get("superseded_at")
    if cut and (ends is None or cut < ends):
        ends = cut
    return begins, ends


# --- the review ------------------------------------------------------------------------------

@dataclass
class Section:
    """One township's part of the review (or the district's, code = district code)."""
    code: str
    name: str
    name_en: str | None
    approximate: bool = False
    metrics: dict = field(default_factory=dict)        # METRICS -> value (int, float or None)
    kinds: list[dict] = field(default_factory=list)    # per kind: code, zh, en and its metrics
    fixed: list[dict] = field(default_factory=list)
    overdue: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    by_status: list[dict] = field(default_factory=list)  # open items per kind and status

    @property
    def shown(self) -> dict[str, str]:
        """The metrics as printed (the HTML and the CSV both use these strings)."""
        return {m: fmt(self.metrics.get(m)) for m in METRICS}


@dataclass
class Review:
    window: Window
    district: str
    district_en: str | None
    generated: str                  # local time of the clock when built
    ranking: list[Section]          # every township, ranked
    sections: list[Section]         # the townships printed (all, or the one asked for)
    total: Section                  # the whole district
    unplaced: int = 0               # facilities in no township (not in any section)
    no_data: bool = False           # nothing recorded by the cut-off: no ranking, no township pages
    district_map: str = ""          # inline SVG of the townships by risk score ("" if none)
    map_legend: list[dict] = field(default_factory=list)  # [{colour, label}] of the map's classes
    unit: str = ""                  # the unit that submits the review (approval block)
    calls: list = field(default_factory=list)  # 接诉即办 per township (monitor.calls.TownshipScore), ranked
    owners: list = field(default_factory=list)  # open follow-ups per township and owner, by age (accountability)

    @property
    def title(self) -> str:
        y, m = self.window.month.split("-")
        return f"{self.district}{int(y)}年{int(m)}月灾后恢复与供暖季风险工作点评"


def fmt(value) -> str:
    """One number as the review prints it: integers plain, fractions to one decimal, none empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.1f}"
    return str(value)


def build(rows: Rows, window: Window, *, district: str = "", district_en: str | None = None,
          district_code: str = "", weights: dict, only: str | None = None,
          now: datetime | None = None, unit: str = "") -> Review:
    """The review of `window` from `rows`; `only` a township code to print alone; `unit` the
    submitting unit named in the approval block (default: the district's emergency office)."""
    import numpy as np
    import shapely

    from .rules import risk_scores
    from .spatial import warned_townships

    tz = window.tz
    start, cut = window.start_iso, window.cutoff_iso
    codes = [t["code"] for t in rows.townships]
    geoms = np.array([shapely.from_wkb(t["geometry"]) for t in rows.townships], dtype=object)
    sections = {t["code"]: Section(t["code"], t["name"], t.get("name_en"), bool(t.get("approximate")))
                for t in rows.townships}
    total = Section(district_code, district, district_en)
    everyone = (*sections.values(), total)
    for s in everyone:
        s.metrics = {m: 0 for m in METRICS}
        s.metrics["rank"] = None
    # per section (by identity): repair times per kind, open items per (kind, status)
    repair_days = {id(s): {k: [] for k in KIND_ORDER} for s in everyone}
    open_by_status: dict[int, dict[tuple[str, str], int]] = {id(s): {} for s in everyone}

    history: dict[int, list[dict]] = {}
    for h in rows.history:
        history.setdefault(h["facility_id"], []).append(h)

    unplaced = 0
    for f in rows.facilities:
        hist = history.get(f["id"])
        if not hist or f["kind"] not in K.KINDS:
            continue  # created after the cut-off
        kind = K.KINDS[f["kind"]]
        life = read_history(f["kind"], hist)
        section = sections.get(f["township"])
        if section is None:
            unplaced += 1
        targets = [s for s in (section, total) if s is not None]
        is_open = not is_closed(f["kind"], life.status)
        in_month = [r for r in life.milestones if start <= r["at"] <= cut]
        repairs = [r for r in life.repairs if start <= r["at"] <= cut]
        overdue_days = None
        if is_open and life.due and life.due < window.overdue_before.isoformat():
            overdue_days = (window.overdue_before - date.fromisoformat(life.due[:10])).days
        for s in targets:
            m = s.metrics
            m[f"{'open' if is_open else 'closed'}_{f['kind']}"] += 1
            if start <= life.created <= cut:
                m[f"new_{f['kind']}"] += 1
            if in_month:
                m[f"fixed_{f['kind']}"] += 1
            m[f"repairs_{f['kind']}"] += len(repairs)
            repair_days[id(s)][f["kind"]] += [days_between(r["start"], r["at"]) for r in repairs]
            if is_open:
                counts = open_by_status[id(s)]
                counts[(f["kind"], life.status)] = counts.get((f["kind"], life.status), 0) + 1
            if overdue_days is not None:
                m["overdue"] += 1
        if section is None:
            continue
        label = kind.label(life.status)
        if in_month:
            section.fixed.append({
                "id": f["id"], "name": f["name"], "kind": f["kind"], "kind_zh": kind.zh,
                "subtype_zh": kind.subtypes.get(f["subtype"], (f["subtype"],))[0], "status": label,
                "events": [{"at": clock.local(r["at"], tz), "status": kind.label(r["new_status"]),
                            "by": r["by"], "note": r["note"]} for r in in_month],
                "repair_days": [round(days_between(r["start"], r["at"]), 1) for r in repairs],
                "fault_since": [clock.local(r["start"], tz, "%Y-%m-%d") for r in repairs],
            })
        if overdue_days is not None:
            section.overdue.append({
                "id": f["id"], "name": f["name"], "kind": f["kind"], "kind_zh": kind.zh,
                "subtype_zh": kind.subtypes.get(f["subtype"], (f["subtype"],))[0], "status": label,
                "due": life.due, "days": overdue_days, "responsible": f["responsible"], "phone": f["phone"],
            })

    # follow-ups open at the cut-off, and the risk score over them
    open_at_cut = [u for u in rows.follow_ups if u["closed"] is None or u["closed"] > cut]
    for u in open_at_cut:
        for s in (sections.get(u["township_code"]), total if u["township_code"] in sections else None):
            if s is not None and u["priority"] in PRIORITIES:
                s.metrics[f"followups_{u['priority'].lower()}"] += 1
    scores = risk_scores(open_at_cut, weights)
    for code, score in scores.items():
        if code in sections:
            sections[code].metrics["risk_score"] = round(score, 1)
    total.metrics["risk_score"] = round(sum(v for c, v in scores.items() if c in sections), 1)

    # warnings that hit each township, and the follow-ups they caused there: an index from alert
    # id and township to the follow-ups whose causes name that alert (each once, in their order),
    # so the review is linear in warnings + follow-ups instead of scanning every follow-up per warning
    caused_by = follow_ups_by_alert(rows.follow_ups)
    district_warnings = set()
    for a in rows.alerts:
        begins, ends = validity(a)
        if begins > cut or (ends is not None and ends <= start):
            continue
        hit = warned_townships(a, codes, geoms)
        if not hit:
            continue
        district_warnings.add(a["id"])
        caused = caused_by.get(a["id"], {})
        for code in sorted(hit):
            s = sections[code]
            here = caused.get(code, [])
            s.warnings.append(_warning_row(a, begins, ends, here, tz))
            s.metrics["warnings"] += 1
            s.metrics["warning_follow_ups"] += len(here)
            total.metrics["warning_follow_ups"] += len(here)
    total.metrics["warnings"] = len(district_warnings)

    for s in everyone:
        for k in KIND_ORDER:
            days = repair_days[id(s)][k]
            s.metrics[f"median_repair_days_{k}"] = round(statistics.median(days), 1) if days else None
        s.kinds = [{"code": k, "zh": K.KINDS[k].zh, "en": K.KINDS[k].en} for k in KIND_ORDER]
        s.by_status = [{"kind_zh": K.KINDS[k].zh, "status": K.KINDS[k].label(st), "count": n}
                       for (k, st), n in sorted(open_by_status[id(s)].items(),
                                                key=lambda kv: (KIND_ORDER.index(kv[0][0]),
                                                                list(K.KINDS[kv[0][0]].statuses).index(kv[0][1])))]
        s.fixed.sort(key=lambda r: (KIND_ORDER.index(r["kind"]), r["id"]))
        s.overdue.sort(key=lambda r: (-r["days"], r["id"]))

    ranking = sorted(sections.values(), key=lambda s: (
        -s.metrics["followups_p1"], -s.metrics["followups_p2"], -s.metrics["overdue"],
        -s.metrics["risk_score"], s.code))
    no_data = not rows.history and not rows.follow_ups and not district_warnings
    if not no_data:
        for n, s in enumerate(ranking, start=1):
            s.metrics["rank"] = n
    printed = [s for s in ranking if only is None or s.code == only]
    printed.sort(key=lambda s: s.code)
    svg, legend = district_svg(rows.townships, {s.code: s.metrics["risk_score"] for s in sections.values()})
    return Review(window=window, district=district, district_en=district_en,
                  generated=clock.local(now or window.cutoff, tz), ranking=ranking, sections=printed,
                  total=total, unplaced=unplaced, no_data=no_data, district_map=svg, map_legend=legend,
                  unit=unit or f"{district}应急管理局")


# --- the district map ------------------------------------------------------------------------

MAP_SIZE = 640  # SVG user units along the map's longer side (printed about 105 mm)


def follow_ups_by_alert(follow_ups: list[dict]) -> dict[int, dict[str | None, list[dict]]]:
    """alert id -> township code -> the follow-ups whose causes name that alert, in their order.

    >>> u = {"township_code": "T", "causes": [{"alert": 3}, {"alert": 3}, {"date": "2021-10-15"}]}
    >>> follow_ups_by_alert([u])[3]["T"] == [u]
    True
    """
    index: dict[int, dict[str | None, list[dict]]] = {}
    for u in follow_ups:
        named = {c.get("alert") for c in u["causes"] if isinstance(c, dict) and isinstance(c.get("alert"), int)}
        for alert_id in named:
            index.setdefault(alert_id, {}).setdefault(u["township_code"], []).append(u)
    return index


def district_svg(townships: list[dict], scores: dict[str, float]) -> tuple[str, list[dict]]:
    """An inline SVG of the townships coloured by risk score, in the same classes and colours as
    the risk map's legend, each named at a point well inside it; and that legend. ("", []) when
    there are no township geometries. Names are escaped: the SVG goes into the page as markup."""
    import html

    import shapely

    from .mapdata import label_point
    from .riskmap import CHOROPLETH, class_labels, score_class, score_classes

    geoms = [(t, shapely.from_wkb(t["geometry"])) for t in townships if t.get("geometry")]
    geoms = [(t, g) for t, g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return "", []
    minx, miny, maxx, maxy = shapely.total_bounds([g for _, g in geoms])
    import math

    kx = math.cos(math.radians((miny + maxy) / 2))  # metres east per degree, relative to north
    span = max((maxx - minx) * kx, maxy - miny, 1e-9)
    scale = MAP_SIZE / span  # the longer side is MAP_SIZE units
    width, height = max(1, round((maxx - minx) * kx * scale)), max(1, round((maxy - miny) * scale))

    def xy(lon: float, lat: float) -> str:
        return f"{(lon - minx) * kx * scale:.1f},{(maxy - lat) * scale:.1f}"

    values = [float(scores.get(t["code"]) or 0) for t, _ in geoms]
    classes = score_classes(values)
    parts = [f'<svg viewBox="-4 -4 {width + 8} {height + 8}" '
             f'class="district-map" role="img" aria-label="乡镇风险分布图 township risk map">']
    labels = []
    for (t, g), score in zip(geoms, values):
        g = shapely.simplify(g, (maxx - minx) / 2000)
        d = []
        for poly in shapely.get_parts(g):
            if poly.geom_type != "Polygon":
                continue
            for ring in (poly.exterior, *poly.interiors):
                coords = list(ring.coords)
                d.append("M" + " L".join(xy(x, y) for x, y in coords) + " Z")
        dash = ' stroke-dasharray="4 3"' if t.get("approximate") else ""
        parts.append(f'<path d="{" ".join(d)}" fill="{CHOROPLETH[score_class(score, classes)]}" '
                     f'fill-rule="evenodd" stroke="#37474f" stroke-width="1"{dash} '
                     f'data-code="{html.escape(t["code"])}"/>')
        at = label_point(g)
        if at:
            x, y = xy(*at).split(",")
            name = html.escape(t["name"])
            labels.append(f'<text x="{x}" y="{y}" text-anchor="middle" class="tname">{name}'
                          f'<tspan x="{x}" dy="1.15em" class="tscore">{fmt(round(score, 1))}</tspan></text>')
    parts += labels
    parts.append("</svg>")
    legend = [{"colour": CHOROPLETH[0], "label": "0 无待跟进 none"}] + [
        {"colour": CHOROPLETH[i], "label": label} for i, label in enumerate(class_labels(classes), start=1)]
    return "".join(parts), legend


def _warning_row(a: dict, begins: str, ends: str | None, follow_ups: list[dict], tz: str) -> dict:
    from .alertview import named as with_names

    named = with_names(a)
    return {
        "id": a["id"], "headline": a.get("headline") or a.get("event") or "",
        "headline_en": a.get("headline_en"), "hazard_zh": named["hazard_zh"], "hazard_en": named["hazard_en"],
        "colour": a.get("colour"), "colour_zh": COLOUR_ZH.get(a.get("colour"), ""),
        "sender": a.get("sender_name") or a.get("sender"), "begins": clock.local(begins, tz),
        "ends": clock.local(ends, tz) if ends else "", "state": a.get("state"),
        "follow_ups": [{"facility_id": u["facility_id"], "name": u["name"], "rule": u["rule"],
                        "priority": u["priority"], "reason": u["reason"], "since": clock.local(u["since"], tz),
                        "closed": clock.local(u["closed"], tz) if u["closed"] else ""} for u in follow_ups],
    }


# --- output ----------------------------------------------------------------------------------

CSV_HEAD = ("month", "code", "township") + METRICS
# Each CSV column's Chinese name (as the printed review heads it): the header reads `中文 english`.
_METRIC_ZH = {"open": "待处理", "closed": "已完成", "new": "本月新增", "fixed": "本月修复", "repairs": "修复次数",
              "median_repair_days": "修复用时中位数(天)"}
CSV_ZH = {"month": "月份", "code": "代码", "township": "乡镇", "rank": "排名", "followups_p1": "待跟进P1",
          "followups_p2": "待跟进P2", "followups_p3": "待跟进P3", "risk_score": "风险分", "overdue": "逾期",
          "warnings": "本月预警", "warning_follow_ups": "预警引发跟进",
          **{f"{m}_{k}": f"{K.KINDS[k].zh}{zh}" for k in KIND_ORDER for m, zh in _METRIC_ZH.items()}}


def render_csv(review: Review) -> str:
    """A wide table: one row per printed township (code order), then the district's total row;
    headers `中文 english` (tables.heading)."""
    from .tables import cell, heading

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([heading(CSV_ZH[c], c) for c in CSV_HEAD])
    for s in [*review.sections, review.total]:
        shown = s.shown
        w.writerow([review.window.month, s.code, cell(s.name)] + [shown[m] for m in METRICS])
    return buf.getvalue()


def css_string(text: str) -> str:
    r"""`text` as the inside of a CSS string (for @page margin boxes): quotes, backslashes, line
    ends and `<` escaped, so that no text can end the string or the <style> element.

    >>> css_string('a"b</style>')
    'a\\22 b\\3c /style\\3e '
    """
    out = []
    for ch in text:
        out.append(f"\\{ord(ch):x} " if ch in '"\'\\<>\n\r\f' or ord(ch) < 32 else ch)
    return "".join(out)


def render_html(review: Review) -> str:
    """The printable review (A4), from assets/report.html.j2 with every value escaped."""
    from importlib import resources

    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["local"] = lambda t: clock.local(t, review.window.tz)
    env.filters["fmt"] = fmt
    env.filters["css_string"] = lambda t: Markup(css_string(str(t)))
    env.filters["svg"] = Markup  # district_svg escapes every name it writes
    env.filters["pct"] = lambda x: "-" if x is None else f"{x * 100:.1f}%"
    source = resources.files("monitor").joinpath("assets", "report.html.j2").read_text(encoding="utf-8")
    return env.from_string(source).render(r=review, kinds=KIND_ORDER, priorities=PRIORITIES)
