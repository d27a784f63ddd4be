"""Citizens' calls (接诉即办): the 12345 hotline's tickets, linked to township, village,
facility or household; their progress recorded in an append-only history; and the monthly
scores per township as the district ranks them.

Import (`import_calls`): the hotline's export, CSV (UTF-8 or GB18030) or .xlsx, headed in
English (ticket, received, township, address, category, text, responded, resolved,
satisfaction), bilingual (`工单编号 ticket`) or in the hotline's Chinese (工单编号, 受理时间,
所属街乡, 地址, 诉求类别, 诉求内容, 响应时间, 办结时间, 满意度). All rows are checked first;
a bad row imports nothing. A ticket already stored is left alone, so importing the same
export twice adds nothing. The township is matched forgivingly (`township_lookup`); the
village is the one of that township whose name the address contains; a household or
facility ref written in the text (HH-000123, HR-0047) links the call to it.

Scores (`township_scores`), for calls received in a month, per township:
    response rate    responded / received
    resolution rate  resolved / received
    satisfaction     (满意 + 基本满意) / calls with a satisfaction answer
and a ranking by the mean of the three (the district's monthly evaluation weighs them; the
weights are not published, so the plain mean is used and said so in the review).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import clock
from .errors import DataError, UsageError

ALIASES = {
    "工单编号": "ticket", "工单号": "ticket", "受理时间": "received", "来电时间": "received",
    "所属街乡": "township", "街乡": "township", "乡镇": "township", "地址": "address", "村": "address",
    "村或地址": "address", "诉求类别": "category", "类别": "category", "诉求内容": "text", "内容": "text",
    "响应时间": "responded", "办结时间": "resolved", "满意度": "satisfaction",
}
SATISFIED = ("满意", "基本满意", "satisfied", "fairly satisfied")
ANSWERS = SATISFIED + ("不满意", "unsatisfied")
REF = re.compile(r"\b((?:HH|HR)-[0-9A-Za-z]+)")
PROBLEMS_SHOWN = 20


def _time(value, field_name: str, tz: str) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return clock.iso(clock.parse(text, what=field_name, tz=tz))
    except UsageError:
        raise ValueError(f"{field_name}「{text[:40]}」不是时间，请写成 YYYY-MM-DD HH:MM；{field_name} '{text[:40]}' is "
                         "not a time (YYYY-MM-DD HH:MM)") from None


@dataclass
class CallImport:
    rows: int = 0
    added: int = 0
    known: int = 0
    problem_count: int = 0
    problems: list[str] = field(default_factory=list)


def normalise(store, row: dict, tz: str, towns: dict, village_names: dict) -> dict:
    from .facilities import clean_text

    row = {ALIASES.get(k, k): v for k, v in row.items()}
    ticket = clean_text(row.get("ticket"), "工单编号 ticket", required=True)
    received = _time(row.get("received"), "受理时间 received", tz)
    if received is None:
        raise ValueError("受理时间 received 为空；received is empty")
    town_text = clean_text(row.get("township"), "街乡 township")
    township = None
    if town_text:
        key = town_text
        if key not in towns:
            try:
                towns[key] = store.township_lookup(town_text)["code"]
            except UsageError as e:
                raise ValueError(str(e)) from None
        township = towns[key]
    address = clean_text(row.get("address"), "地址 address")
    text = clean_text(row.get("text"), "诉求内容 text")
    village = None
    if township and address:
        for name, code in village_names.get(township, ()):
            if name in address:
                village = code
                break
    satisfaction = clean_text(row.get("satisfaction"), "满意度 satisfaction")
    if satisfaction and satisfaction not in ANSWERS:
        raise ValueError(f"满意度「{satisfaction}」应为 满意、基本满意 或 不满意；satisfaction '{satisfaction}' must be "
                         "满意, 基本满意 or 不满意")
    return {"ticket": ticket, "received": received, "township": township, "village_code": village,
            "address": address, "category": clean_text(row.get("category"), "诉求类别 category"), "text": text,
            "responded": _time(row.get("responded"), "响应时间 responded", tz),
            "resolved": _time(row.get("resolved"), "办结时间 resolved", tz), "satisfaction": satisfaction,
            "_refs": REF.findall(" ".join(x for x in (text, address) if x))}


def import_calls(store, path: Path, *, tz: str) -> CallImport:
    """Import a hotline export, all or nothing; tickets already stored are left alone."""
    from .households import villages
    from .tables import read_table

    result = CallImport()
    village_names: dict[str, list] = {}
    for v in villages().by_code.values():
        village_names.setdefault(v.township, []).append((v.name[:-1] if len(v.name) > 2 else v.name, v.code))
    towns: dict[str, str] = {}
    recs = []
    with read_table(path) as table:
        for row in table.rows:
            result.rows += 1
            try:
                recs.append(normalise(store, row, tz, towns, village_names))
            except ValueError as e:
                result.problem_count += 1
                if len(result.problems) < PROBLEMS_SHOWN:
                    result.problems.append(f"{row.get('_where', 'row')}: {e}")
    if result.problem_count:
        raise DataError(f"{path}: {result.problem_count} 行有问题，未导入任何数据；{result.problem_count} bad row(s), "
                        "nothing imported:\n  " + "\n  ".join(result.problems))
    if not recs:
        raise DataError(f"{path}: 没有可导入的行；no rows to import")
    at = clock.iso(clock.now())
    with store.write():
        refs = sorted({r for rec in recs for r in rec["_refs"]})
        homes = store.households_by_ref([r for r in refs if r.startswith("HH-")])
        sites = store.facilities_by_ref([r for r in refs if r.startswith("HR-")])
        for rec in recs:
            for r in rec.pop("_refs"):
                if r in homes:
                    rec["household_id"] = homes[r]["id"]
                    rec["village_code"] = rec["village_code"] or homes[r]["village_code"]
                    rec["township"] = rec["township"] or homes[r]["township"]
                elif r in sites:
                    rec["facility_id"] = sites[r]["id"]
            rec["source"] = path.name
        result.added = store.insert_calls(recs, at=at)
    result.known = len(recs) - result.added
    return result


def update(store, ticket: str, *, responded: str | None, resolved: str | None, satisfaction: str | None,
           note: str | None, by: str, tz: str) -> dict:
    """Record progress on one call (appended to its history); the call as it now stands."""
    from .fieldwork import clean

    note = clean(note, "备注 --note", limit=500)
    try:
        responded = _time(responded, "响应时间 --responded", tz)
        resolved = _time(resolved, "办结时间 --resolved", tz)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if satisfaction and satisfaction not in ANSWERS:
        raise UsageError(f"满意度「{satisfaction}」应为 满意、基本满意 或 不满意；satisfaction must be 满意, 基本满意 or 不满意")
    if not (responded or resolved or satisfaction or note):
        raise UsageError("请给出 --responded、--resolved、--satisfaction 或 --note；give --responded, --resolved, "
                         "--satisfaction or --note")
    at = clock.iso(clock.now())
    with store.write():
        call = store.known_tickets([ticket]).get(ticket)
        if call is None:
            raise UsageError(f"没有工单 {ticket[:40]}，请核对编号（monitor calls list 列出工单）；no call with ticket "
                             f"{ticket[:40]}; `monitor calls list` shows them")
        values = {k: v for k, v in (("responded", responded), ("resolved", resolved),
                                    ("satisfaction", satisfaction)) if v}
        if resolved and not (responded or call["responded"]):
            values["responded"] = resolved  # resolving a call answers it
        values["updated"] = at
        store.update_call(ticket, values)
        store.append_call_history(call["id"], at=at, by=by, responded=values.get("responded"),
                                  resolved=values.get("resolved"), satisfaction=satisfaction, note=note)
        return store.known_tickets([ticket])[ticket]


# --- the monthly scores ---------------------------------------------------------------------------

@dataclass
class TownshipScore:
    township: str
    name: str
    received: int
    responded: int
    resolved: int
    rated: int
    satisfied: int
    rank: int = 0

    def rate(self, part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def response_rate(self) -> float | None:
        return self.rate(self.responded, self.received)

    @property
    def resolution_rate(self) -> float | None:
        return self.rate(self.resolved, self.received)

    @property
    def satisfaction_rate(self) -> float | None:
        return self.rate(self.satisfied, self.rated)

    @property
    def score(self) -> float:
        rates = [r for r in (self.response_rate, self.resolution_rate, self.satisfaction_rate) if r is not None]
        return sum(rates) / len(rates) if rates else 0.0


def township_scores(store, start: datetime, until: datetime) -> list[TownshipScore]:
    """Per township, the calls received in [start, until): counts, rates and rank (1 = best).
    A call counts as responded or resolved when that happened before `until`."""
    names = {t["code"]: t["name"] for t in store.townships(with_geometry=False)}
    end = clock.iso(until)
    scores: dict[str, TownshipScore] = {}
    for c in store.select_calls(start=clock.iso(start), until=end):
        code = c["township"] or ""
        s = scores.setdefault(code, TownshipScore(code, names.get(code, "未归属 unassigned"), 0, 0, 0, 0, 0))
        s.received += 1
        s.responded += bool(c["responded"] and c["responded"] < end)
        s.resolved += bool(c["resolved"] and c["resolved"] < end)
        if c["satisfaction"]:
            s.rated += 1
            s.satisfied += c["satisfaction"] in SATISFIED
    ranked = sorted(scores.values(), key=lambda s: (-s.score, -s.received, s.township))
    for i, s in enumerate(ranked, start=1):
        s.rank = i
    return ranked
