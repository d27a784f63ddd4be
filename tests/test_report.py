"""`monitor report`: the monthly review's numbers, checked against a district built for the purpose.

The database is made through the real CLI, in time order with --as-of, so every history row,
alert and follow-up is what field staff and the evaluations would have left. October 2021:

汤河口镇 (TH)  R  road damaged 2021-07-25 10:00, repaired 10-12 10:00 (79 days), accepted 10-20
              B2 bridge damaged 08-01 10:00, repaired 09-20 10:00 (50 days), accepted 10-25
              H  boiler room unchecked 09-01, defect 10-03 09:00, ok 10-05 09:00 (2 days)
              H3 heating added 11-05 (after the month: not counted)
宝山镇 (BS)    F  old wiring open 10-01 08:00, rectified 10-08 08:00 (7 days), verified 10-15
              O  blocked exit open, due 10-15, responsible 李娜: overdue 17 days at month end
              F3 power line damaged 09-15, blocks heating; repaired 11-03 (after the month)
              BSH heat pump unchecked -> ok 10-12 (an inspection, not a fix)
泉河街道 (QH)  H2 heat pump defect 10-02, ok 10-06, undone 10-07 (not fixed)
              X  "<script>alert(1)</script>", due 10-09, responsible "<b>坏</b>": overdue 23 days
怀北镇 (HB)    HB1 defect 09-25, under repair 10-10, due 10-31: overdue 1 day at month end,
              after the last evaluation (no follow-up)
Warnings (CAP, synthetic): A1 cold wave over the district 09-25..10-05, cancelled 09-28 (not in
October); A2 rainstorm over TH (division code) 09-30 20:00..10-01 08:00 (in October); A3
rainstorm over BS 09-29..09-30 23:00 (not); A4 gale with a polygon inside BS (its TH code does
not widen the shape: see monitor.spatial), 10-09 15:40..10-10 15:40. Evaluations at 10-01 07:00, 10-09 16:00 and 10-31 20:00.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import numpy as np
import pytest
import shapely
from conftest import CONFIG, Cli, csv_records, table_dump
from lxml import html as lxml_html

from monitor.report import METRICS
from monitor.tables import english

HOSTILE = "<script>alert(1)</script>"
HOSTILE_BY = "<b>坏</b>"
TH, BS, QH, HB = "110116107000", "110116111000", "110116001000", "110116106000"
MONTH_END = "2021-11-10T09:00+08:00"  # when the October review is printed


def cap(identifier: str, sent: str, event: str, expires: str, *, codes=(), polygon=None, onset=None,
        msg_type="Alert", references=None) -> str:
    """A GB/T 35965.1-style CAP 1.2 message. SYNTHETIC: written for these tests."""
    area = "<polygon>" + " ".join(f"{lat},{lon}" for lon, lat in polygon) + "</polygon>" if polygon else ""
    area += "".join(f"<geocode><valueName>GB/T 2260</valueName><value>{c}</value></geocode>" for c in codes)
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier><sender>怀柔区气象台</sender><sent>{sent}</sent>
  <status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}
  <info>
    <language>zh-CN</language><category>Met</category><event>{event}</event>
    <urgency>Expected</urgency><severity>Minor</severity><certainty>Likely</certainty>
    {f"<onset>{onset}</onset>" if onset else ""}<expires>{expires}</expires>
    <senderName>北京市怀柔区气象台</senderName>
    <headline>怀柔区气象台发布{event}蓝色预警信号</headline>
    <area><areaDesc>怀柔区</areaDesc>{area}</area>
  </info>
</alert>"""


# The rules, season and weights these numbers assume, pinned here so that a change to the shipped
# defaults (config.toml) does not change what this test district means.
PINNED = """
[season]
heating_start = "11-15"
heating_end = "03-15"
preseason_days = 45

[priority]
households_raise = 200
score_weights = { P1 = 5, P2 = 3, P3 = 1 }
""" + "".join(f"""
[[rules]]
id = "{rule_id}"
trigger = "{trigger}"
kinds = {kinds}
statuses = {statuses}
priority = {priority}
reason = "{reason}"
{extra}
""" for rule_id, trigger, kinds, statuses, priority, reason, extra in [
    ("heating_preseason", "preseason", '["heating"]', '"open"', '"P3"', "供暖季前检查：自{since}以来未检查", ""),
    ("icing_roads", "hazard", '["flood"]', '["damaged", "temporarily_restored", "under_repair"]',
     '{ blue = "P3", yellow = "P2", orange = "P1", red = "P1" }', "{colour}{hazard}预警区内水毁道路未修复：{headline}",
     'hazards = ["road_icing", "blizzard", "rainstorm"]\nsubtypes = ["road", "bridge"]'),
    ("rain_flood", "hazard", '["flood"]', '["damaged", "temporarily_restored", "under_repair"]',
     '{ blue = "P2", yellow = "P2", orange = "P1", red = "P1" }', "{colour}{hazard}预警区内水毁设施未修复：{headline}",
     'hazards = ["rainstorm"]'),
    ("gale_fire", "hazard", '["fire"]', '["open", "rectifying"]',
     '{ blue = "P2", yellow = "P2", orange = "P1", red = "P1" }', "{colour}{hazard}预警区内消防隐患未整改：{headline}",
     'hazards = ["gale", "forest_fire"]'),
    ("overdue", "overdue", '["heating", "fire", "flood"]', '"open"', '"P2"', "已逾期{days}天（期限{due}），状态“{status}”",
     ""),
    ("heating_access", "access", '["flood"]', '"open"', '"P1"', "水毁设施阻断供暖通道（{status}）", ""),
])


def pinned_config(folder):
    """The shipped config.toml with PINNED's season, weights and rules in place of its own."""
    text = CONFIG.read_text(encoding="utf-8")
    text = text[:text.index("\n[[rules]]")]
    for table in ("season", "priority"):
        text = re.sub(rf"(?ms)^\[{table}\]\n.*?(?=^\[)", "", text)
    text = re.sub(r'(?m)^(townships|outline) = "', lambda m: f'{m.group(1)} = "{CONFIG.parent.as_posix()}/', text)
    path = folder / "config.toml"
    path.write_text(text + PINNED, encoding="utf-8")
    return path


def square(lon: float, lat: float, half: float) -> list[tuple[float, float]]:
    return [(lon - half, lat - half), (lon + half, lat - half), (lon + half, lat + half), (lon - half, lat + half),
            (lon - half, lat - half)]


class District:
    """The built database: the CLI bound to it, and the facility ids by short name."""

    def __init__(self, cli: Cli, ids: dict[str, int], tmp):
        self.cli, self.ids, self.tmp = cli, ids, tmp

    def report(self, *args: str, as_of: str = MONTH_END, name: str = "report.html") -> str:
        out = self.tmp / name
        r = self.cli("report", *args, "--out", str(out), as_of=as_of)
        assert r.output.strip() == str(out)
        return out.read_text(encoding="utf-8-sig")


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> District:
    tmp = tmp_path_factory.mktemp("review")
    cli = Cli(tmp / "monitor.db", pinned_config(tmp))
    cli("init")
    conn = sqlite3.connect(cli.db)
    seat = {code: (lon, lat) for code, lon, lat in conn.execute("SELECT code, lon, lat FROM townships")}
    conn.close()
    ids: dict[str, int] = {}

    def add(key, code, dx, at, kind, subtype, name, *extra):
        lon, lat = seat[code]
        r = cli("facility", "add", "--kind", kind, "--subtype", subtype, "--name", name,
                "--lon", f"{lon + dx:.6f}", "--lat", f"{lat:.6f}", "--by", "录入员", "--json", *extra,
                as_of=at)
        row = json.loads(r.output)
        assert row["township"] == code, (key, row["township_name"])
        ids[key] = row["id"]

    def update(key, at, status, *extra):
        cli("facility", "update", str(ids[key]), "--status", status, "--by", "王磊", *extra, as_of=at)

    def evaluate(at):
        cli("followups", as_of=at)

    bs_point = (seat[BS][0] - 0.02, seat[BS][1])
    files = {
        "a1.xml": cap("A1", "2021-09-25T08:00:00+08:00", "寒潮", "2021-10-05T08:00:00+08:00", codes=["110116"]),
        "a1c.xml": cap("A1C", "2021-09-28T08:00:00+08:00", "寒潮", "2021-10-05T08:00:00+08:00", codes=["110116"],
                       msg_type="Cancel", references="怀柔区气象台,A1,2021-09-25T08:00:00+08:00"),
        "a2.xml": cap("A2", "2021-09-30T20:00:00+08:00", "暴雨", "2021-10-01T08:00:00+08:00", codes=["110116107"],
                      onset="2021-09-30T20:00:00+08:00"),
        "a3.xml": cap("A3", "2021-09-29T20:00:00+08:00", "暴雨", "2021-09-30T23:00:00+08:00", codes=["110116111"]),
        "a4.xml": cap("A4", "2021-10-09T15:40:00+08:00", "大风", "2021-10-10T15:40:00+08:00", codes=["110116107"],
                      polygon=square(*bs_point, 0.005)),
    }
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")

    add("R", TH, 0.0, "2021-07-25T10:00+08:00", "flood", "road", "汤河口 G111国道水毁路段", "--status", "damaged",
        "--severity", "major", "--responsible", "王磊")
    add("B2", TH, 0.003, "2021-08-01T10:00+08:00", "flood", "bridge", "汤河口 东湾桥", "--status", "damaged")
    add("H", TH, -0.003, "2021-09-01T09:00+08:00", "heating", "boiler_room", "汤河口镇中心小学 锅炉房")
    add("H2", QH, 0.0, "2021-09-01T09:00+08:00", "heating", "heat_pump", "泉河 富乐北里 热泵A")
    add("O", BS, -0.02, "2021-09-10T09:00+08:00", "fire", "blocked_exit", "宝山镇 敬老院安全出口", "--due",
        "2021-10-15", "--responsible", "李娜", "--phone", "13800001111")
    add("F3", BS, -0.03, "2021-09-15T09:00+08:00", "flood", "power_line", "宝山 10kV供电线路", "--status", "damaged",
        "--blocks-heating")
    add("X", QH, 0.003, "2021-09-20T09:00+08:00", "heating", "gas_heater", HOSTILE, "--due", "2021-10-09",
        "--responsible", HOSTILE_BY)
    update("B2", "2021-09-20T10:00+08:00", "repaired", "--note", "桥面修复")
    add("HB1", HB, 0.0, "2021-09-25T10:00+08:00", "heating", "pipeline", "怀北 供热管网", "--status", "defect")
    add("BSH", BS, -0.01, "2021-09-25T10:00+08:00", "heating", "heat_pump", "宝山 村委会热泵")
    cli("alerts", "import", *[str(tmp / n) for n in files], as_of="2021-10-09T15:50+08:00")

    evaluate("2021-10-01T07:00+08:00")
    add("F", BS, -0.025, "2021-10-01T08:00+08:00", "fire", "old_wiring", "宝山 供销社老旧电线")
    update("H2", "2021-10-02T09:00+08:00", "defect", "--inspected", "2021-10-02")
    update("H", "2021-10-03T09:00+08:00", "defect", "--inspected", "2021-10-03")
    update("H", "2021-10-05T09:00+08:00", "ok", "--note", "更换循环泵")
    update("H2", "2021-10-06T09:00+08:00", "ok", "--note", "误报")
    cli("facility", "undo", str(ids["H2"]), "--by", "王磊", as_of="2021-10-07T09:00+08:00")
    update("F", "2021-10-08T08:00+08:00", "rectified", "--note", "更换电线")
    evaluate("2021-10-09T16:00+08:00")
    update("HB1", "2021-10-10T09:00+08:00", "under_repair", "--inspected", "2021-10-10", "--due", "2021-10-31")
    update("R", "2021-10-12T10:00+08:00", "repaired", "--note", "路基回填，路面修复")
    update("BSH", "2021-10-12T11:00+08:00", "ok", "--inspected", "2021-10-12")
    update("F", "2021-10-15T08:00+08:00", "verified", "--note", "复查合格")
    update("R", "2021-10-20T10:00+08:00", "accepted", "--note", "交工验收")
    update("B2", "2021-10-25T10:00+08:00", "accepted", "--note", "验收合格")
    evaluate("2021-10-31T20:00+08:00")
    update("F3", "2021-11-03T10:00+08:00", "repaired")
    add("H3", TH, 0.001, "2021-11-05T09:00+08:00", "heating", "heat_pump", "汤河口 新装热泵")
    return District(cli, ids, tmp)


def sections(page: str) -> dict[str, dict[str, str]]:
    """Each <section data-code>'s printed metrics; "—" (no value) read as ""."""
    doc = lxml_html.fromstring(page)
    out = {}
    for s in doc.xpath("//section[@data-code]"):
        values = {}
        for el in s.xpath(".//*[@data-metric]"):
            assert el.get("data-metric") not in values, f"{el.get('data-metric')} printed twice"
            text = el.text_content().strip()
            values[el.get("data-metric")] = "" if text == "—" else text
        out[s.get("data-code")] = values
    return out


def csv_rows(text: str) -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in csv_records(text)}


def kind_numbers(m: dict[str, str], kind: str) -> tuple[str, ...]:
    return tuple(m[f"{x}_{kind}"] for x in ("open", "closed", "new", "fixed", "repairs", "median_repair_days"))


# --- the October numbers ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def october(district) -> str:
    return district.report("--month", "2021-10", name="october.html")


def test_counts_fixes_and_median_repair_days_per_kind(october):
    s = sections(october)
    #                               open closed new fixed repairs median
    assert kind_numbers(s[TH], "flood") == ("0", "2", "0", "2", "1", "79")
    assert kind_numbers(s[TH], "heating") == ("0", "1", "0", "1", "1", "2")  # H3 came after the month
    assert kind_numbers(s[TH], "fire") == ("0", "0", "0", "0", "0", "")
    assert kind_numbers(s[BS], "fire") == ("1", "1", "1", "1", "1", "7")
    assert kind_numbers(s[BS], "flood") == ("1", "0", "0", "0", "0", "")    # repaired only in November
    assert kind_numbers(s[BS], "heating") == ("0", "1", "0", "0", "0", "")  # unchecked -> ok is no fix
    assert kind_numbers(s[QH], "heating") == ("2", "0", "0", "0", "0", "")  # the repair was undone
    assert kind_numbers(s[HB], "heating") == ("1", "0", "0", "0", "0", "")
    district_code = "110116000000"
    assert kind_numbers(s[district_code], "heating") == ("3", "2", "0", "1", "1", "2")
    assert kind_numbers(s[district_code], "fire") == ("1", "1", "1", "1", "1", "7")
    assert kind_numbers(s[district_code], "flood") == ("1", "2", "0", "2", "1", "79")


def test_fixed_this_month_lists_each_facility_once_with_its_moves(october, district):
    doc = lxml_html.fromstring(october)
    th = doc.xpath(f"//section[@data-code='{TH}']//table[@class='fixed']/tbody/tr")
    by_id = {int(r.get("data-facility")): r.text_content() for r in th}
    assert sorted(by_id) == sorted([district.ids["R"], district.ids["B2"], district.ids["H"]])
    road = by_id[district.ids["R"]]
    assert "2021-10-12 10:00 已修复 repaired（王磊）：路基回填，路面修复" in road
    assert "2021-10-20 10:00 已验收 accepted" in road and "2021-07-25" in road and "79" in road
    bridge = by_id[district.ids["B2"]]
    assert "2021-10-25 10:00 已验收 accepted" in bridge and "已修复 repaired" not in bridge.split("已验收")[0]
    bs = doc.xpath(f"//section[@data-code='{BS}']//table[@class='fixed']/tbody/tr")
    assert [int(r.get("data-facility")) for r in bs] == [district.ids["F"]]
    assert "已整改 rectified" in bs[0].text_content() and "已验收 verified" in bs[0].text_content()
    assert not doc.xpath(f"//section[@data-code='{QH}']//table[@class='fixed']")


def test_overdue_items_with_their_responsible_person(october, district):
    doc = lxml_html.fromstring(october)

    def overdue(code):
        return [[td.text_content() for td in tr.xpath("td")]
                for tr in doc.xpath(f"//section[@data-code='{code}']//table[@class='overdue']/tbody/tr")]

    (o,) = overdue(BS)
    assert o[0] == str(district.ids["O"]) and o[4:8] == ["2021-10-15", "17", "李娜", "13800001111"]
    (x,) = overdue(QH)
    assert x[1] == HOSTILE and x[4:7] == ["2021-10-09", "23", HOSTILE_BY]
    (h,) = overdue(HB)  # due 10-31: overdue once the month is over, though no evaluation said so yet
    assert h[4:6] == ["2021-10-31", "1"]
    assert overdue(TH) == []
    s = sections(october)
    assert [s[c]["overdue"] for c in (BS, QH, HB, TH, "110116000000")] == ["1", "1", "1", "0", "3"]


def test_warnings_that_hit_each_township_and_the_follow_ups_they_caused(october, district):
    doc = lxml_html.fromstring(october)

    def warnings(code):
        return {w.xpath(".//b")[0].text_content(): w for w in
                doc.xpath(f"//section[@data-code='{code}']//div[contains(@class, 'warning')]")}

    th = warnings(TH)  # A2 by division code (overlapping October by 8 hours); not A4 (its shape is in BS)
    assert sorted(th) == ["蓝色暴雨"]
    caused = [tr.xpath("td")[2].text_content() for tr in th["蓝色暴雨"].xpath(".//table//tbody/tr")]
    assert caused == ["汤河口 G111国道水毁路段"] * 2  # rain_flood P2 and icing_roads P3
    assert {tr.xpath("td")[0].text_content() for tr in th["蓝色暴雨"].xpath(".//tbody/tr")} == {"P2", "P3"}
    bs = warnings(BS)  # A4 by its polygon; A3 ended before October; A1 was cancelled in September
    assert sorted(bs) == ["蓝色大风"]
    (row,) = bs["蓝色大风"].xpath(".//table//tbody/tr")
    assert [td.text_content() for td in row.xpath("td")[:3]] == ["P2", str(district.ids["O"]), "宝山镇 敬老院安全出口"]
    assert warnings(QH) == {} and warnings(HB) == {}
    s = sections(october)
    assert [(s[c]["warnings"], s[c]["warning_follow_ups"]) for c in (TH, BS, QH, "110116000000")] == \
        [("1", "2"), ("1", "1"), ("0", "0"), ("2", "3")]


def test_ranking_by_p1_then_p2_then_overdue_then_score(october):
    doc = lxml_html.fromstring(october)
    order = [tr.get("data-rank-code") for tr in doc.xpath("//table[@class='ranking']/tbody/tr")]
    rest = sorted(c for c in order if c not in (BS, QH, HB))
    assert order == [BS, QH, HB] + rest and len(order) == 16
    s = sections(october)
    assert [s[BS][k] for k in ("rank", "followups_p1", "followups_p2", "followups_p3", "risk_score")] == \
        ["1", "1", "1", "0", "8"]
    assert [s[QH][k] for k in ("rank", "followups_p1", "followups_p2", "followups_p3", "risk_score")] == \
        ["2", "0", "1", "1", "4"]
    assert s[HB]["rank"] == "3" and s[HB]["risk_score"] == "0"
    assert s[TH]["rank"] == str(order.index(TH) + 1)
    assert [s["110116000000"][k] for k in ("followups_p1", "followups_p2", "followups_p3", "risk_score")] == \
        ["1", "2", "1", "12"]


def test_one_page_per_township_on_a4_with_nothing_fetched(october):
    doc = lxml_html.fromstring(october)
    codes = [s.get("data-code") for s in doc.xpath("//section[contains(@class, 'township')]")]
    assert len(codes) == 16 == len(set(codes)) and codes == sorted(codes)
    style = doc.xpath("//style")[0].text_content()
    assert "size: A4" in style
    assert "section.township { page-break-before: always; break-before: page; }" in style
    assert "Noto Sans CJK SC" in style and "Microsoft YaHei" in style and "@font-face" not in style
    assert not doc.xpath("//script | //link | //img | //*[@src]")
    assert "http://" not in october and "https://" not in october
    assert doc.xpath("//h1")[0].text_content() == "怀柔区2021年10月灾后恢复与供暖季风险工作点评"


def test_typed_text_is_escaped(october):
    assert HOSTILE not in october and HOSTILE_BY not in october
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in october and "&lt;b&gt;坏&lt;/b&gt;" in october
    doc = lxml_html.fromstring(october)
    assert not doc.xpath("//script") and not doc.xpath("//td/b")


def test_csv_numbers_equal_the_html(october, district):
    text = district.report("--month", "2021-10", "--format", "csv", name="october.csv")
    raw = (district.tmp / "october.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese
    rows = csv_rows(text)
    assert [english(h) for h in next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))] == \
        ["month", "code", "township", *METRICS]
    printed = sections(october)
    assert set(rows) == set(printed) and len(rows) == 17  # 16 townships and the district
    for code, row in rows.items():
        assert row["month"] == "2021-10"
        assert set(printed[code]) == set(METRICS), code
        assert {m: row[m] for m in METRICS} == printed[code], code
    assert rows[TH]["township"] == "汤河口镇" and rows["110116000000"]["township"] == "怀柔区"
    assert list(rows)[-1] == "110116000000"


# --- other months, one township, the defaults ----------------------------------------------------

def test_month_to_date_is_the_state_at_that_moment(district):
    """Replayed at 10-10 noon, after the whole database was built: later changes do not count."""
    page = district.report(as_of="2021-10-10T12:00+08:00", name="midmonth.html")  # default: this month
    assert "2021年10月" in page and "本月截至目前 month to date" in page
    s = sections(page)
    assert kind_numbers(s[TH], "flood") == ("1", "1", "0", "0", "0", "")  # R still damaged, B2 repaired
    assert kind_numbers(s[TH], "heating") == ("0", "1", "0", "1", "1", "2")
    assert kind_numbers(s[BS], "fire") == ("1", "1", "1", "1", "1", "7")  # rectified, not yet verified
    assert [s[c]["overdue"] for c in (QH, BS, HB)] == ["1", "0", "0"]  # due 10-09 is overdue on 10-10
    doc = lxml_html.fromstring(page)
    (x,) = doc.xpath(f"//section[@data-code='{QH}']//table[@class='overdue']/tbody/tr")
    assert [td.text_content() for td in x.xpath("td")][4:6] == ["2021-10-09", "1"]
    # follow-ups as the 10-09 evaluation left them: the gale's P2, the access P1, pre-season P3
    assert [s[BS][k] for k in ("followups_p1", "followups_p2", "followups_p3", "risk_score")] == \
        ["1", "1", "1", "9"]
    assert s[BS]["warnings"] == "1" and s[TH]["warnings"] == "1"


def test_september(district):
    s = sections(district.report("--month", "2021-09", name="september.html"))
    assert kind_numbers(s[TH], "flood") == ("1", "1", "0", "1", "1", "50")  # B2: 08-01 -> 09-20
    assert kind_numbers(s[TH], "heating") == ("1", "0", "1", "0", "0", "")
    # A1 (until its cancel on 09-28) everywhere; A2 (from 09-30 20:00) in TH; A3 in BS
    assert (s[TH]["warnings"], s[BS]["warnings"], s[QH]["warnings"]) == ("2", "2", "1")
    assert s[QH]["overdue"] == "0"  # X is due 10-09


def test_one_township(district):
    page = district.report("--month", "2021-10", "--township", "汤河口", name="th.html")
    doc = lxml_html.fromstring(page)
    assert [x.get("data-code") for x in doc.xpath("//section[contains(@class, 'township')]")] == [TH]
    assert len(doc.xpath("//table[@class='ranking']/tbody/tr")) == 16  # still ranked among all
    rows = csv_rows(district.report("--month", "2021-10", "--township", "110116107000", "--format", "csv",
                                    name="th.csv"))
    assert list(rows) == [TH, "110116000000"]
    r = district.cli("report", "--month", "2021-10", "--township", "不存在", "--out", str(district.tmp / "x.html"),
                     as_of=MONTH_END, ok=False)
    assert r.exit_code == 2 and "no township '不存在'" in r.output


def test_default_file_beside_the_config(district, tmp_path):
    config = pinned_config(tmp_path)
    cli = Cli(district.cli.db, config)
    r = cli("report", "--month", "2021-10", as_of=MONTH_END)
    assert r.output.strip() == str(tmp_path / "reports" / "report-2021-10.html")
    r = cli("report", "--format", "csv", as_of="2021-10-20T09:00+08:00")
    assert r.output.strip() == str(tmp_path / "reports" / "report-2021-10.csv")
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["report-2021-10.csv", "report-2021-10.html"]


@pytest.mark.parametrize("month, message", [
    ("2021-13", "--month '2021-13' is not a month; use YYYY-MM"),
    ("Oct 2021", "is not a month"),
    ("2021-12", "--month 2021-12 has not begun yet (it is 2021-11-10 09:00)"),
])
def test_bad_month(district, month, message):
    r = district.cli("report", "--month", month, "--out", str(district.tmp / "bad.html"), as_of=MONTH_END, ok=False)
    assert r.exit_code == 2 and message in r.output
    assert not (district.tmp / "bad.html").exists()


def test_needs_a_database(tmp_path):
    r = Cli(tmp_path / "none.db")("report", "--out", str(tmp_path / "r.html"), ok=False)
    assert r.exit_code == 2 and "run `monitor init` first" in r.output


def test_reads_without_writing(district):
    before = table_dump(district.cli.db)
    district.report("--month", "2021-10", name="again.html")
    assert table_dump(district.cli.db) == before


def test_written_whole_or_not_at_all(district, monkeypatch):
    from monitor.outfile import GENERATOR_META

    PREVIOUS = f"<!DOCTYPE html><html><head>{GENERATOR_META}</head><body>the previous report</body></html>"
    out = district.tmp / "atomic.html"
    out.write_text(PREVIOUS, encoding="utf-8")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("monitor.outfile.os.replace", fail)
    r = district.cli("report", "--month", "2021-10", "--out", str(out), as_of=MONTH_END, ok=False)
    assert r.exit_code == 1 and "cannot write (No space left on device)" in r.output
    assert out.read_text(encoding="utf-8") == PREVIOUS
    assert not [p for p in district.tmp.iterdir() if p.name.startswith(".atomic.html")]


def test_help():
    from click.testing import CliRunner

    from monitor.cli import main

    for command in ("report", "export"):
        r = CliRunner().invoke(main, [command, "--help"])
        assert r.exit_code == 0 and "Examples:" in r.output


# --- the definitions, on plain rows ----------------------------------------------------------------

def test_an_area_touching_a_township_along_its_border_does_not_cover_it():
    from monitor.spatial import warned_townships

    a, b, c = shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(5, 5, 6, 6)
    ring = [list(p) for p in a.exterior.coords]
    alert = {"area": {"polygons": [ring]}, "division_codes": ["110116213000"]}
    codes = ["110116001000", "110116002000", "110116213000"]
    geoms = np.array([a, b, c], dtype=object)
    # b shares a's border: touching is not covering; the shape wins over the division code
    assert warned_townships(alert, codes, geoms) == {"110116001000"}
    assert warned_townships({"division_codes": ["110116213000"]}, codes, geoms) == {"110116213000"}


def h(i, at, old, new, *, undoes=None, due=None):
    return {"id": i, "at": at, "old_status": old, "new_status": new, "undoes": undoes, "due": due, "by": "x",
            "note": None}


def test_each_fault_starts_its_own_repair_clock():
    from monitor.report import read_history

    life = read_history("flood", [
        h(1, "2021-07-01T00:00:00Z", None, "damaged", due="2021-08-01"),
        h(2, "2021-07-11T00:00:00Z", "damaged", "temporarily_restored"),
        h(3, "2021-07-21T00:00:00Z", "temporarily_restored", "repaired"),   # 20 days from 07-01
        h(4, "2021-08-01T00:00:00Z", "repaired", "damaged", due="2021-09-01"),
        h(5, "2021-08-02T00:00:00Z", "damaged", "repaired"),                # undone below
        h(6, "2021-08-03T00:00:00Z", "repaired", "damaged", undoes=5, due="2021-09-01"),
        h(7, "2021-08-06T00:00:00Z", "damaged", "repaired"),                # 5 days from 08-01
        h(8, "2021-08-07T00:00:00Z", "repaired", "accepted"),
    ])
    assert [(r["start"][:10], r["at"][:10]) for r in life.repairs] == [("2021-07-01", "2021-07-21"),
                                                                      ("2021-08-01", "2021-08-06")]
    assert [r["id"] for r in life.milestones] == [3, 7, 8]
    assert (life.status, life.due, life.created) == ("accepted", "2021-09-01", "2021-07-01T00:00:00Z")


def test_an_inspection_is_not_a_repair():
    from monitor.report import read_history

    life = read_history("heating", [h(1, "2021-09-01T00:00:00Z", None, "unchecked"),
                                    h(2, "2021-10-01T00:00:00Z", "unchecked", "ok"),
                                    h(3, "2021-10-02T00:00:00Z", "ok", "ok")])
    assert life.repairs == [] and life.milestones == [] and life.status == "ok"


def test_the_warning_join_by_index_equals_the_scan_it_replaced():
    """Issue 12: warnings are joined to follow-ups by an index (linear), with the same result as
    scanning every follow-up per warning and township, as the review did before."""
    from monitor.report import follow_ups_by_alert

    causes = [[{"alert": 1}], [{"alert": 1}, {"alert": 1}, {"alert": 2}], [{"date": "2021-10-15"}], [],
              [{"alert": 2}, "text"], [{"alert": 3, "hazard": "gale"}]]
    follow_ups = [{"n": n, "township_code": town, "causes": c}
                  for n, (town, c) in enumerate((t, c) for t in (TH, BS, None) for c in causes)]
    index = follow_ups_by_alert(follow_ups)
    for alert_id in (1, 2, 3, 4):
        caused = [u for u in follow_ups
                  if any(isinstance(c, dict) and c.get("alert") == alert_id for c in u["causes"])]
        for code in (TH, BS, None, QH):
            assert index.get(alert_id, {}).get(code, []) == [u for u in caused if u["township_code"] == code]
