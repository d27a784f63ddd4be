"""Write the demo's 2025 warnings (geodata/alerts/*.xml): CAP 1.2 RECONSTRUCTED from published text.

No feed archive of these warnings is reachable, so each file is rebuilt from what the news
reports quoted (../shared/data/huairou_2025/README.md lists them with sources): the published
issuing body, issue time, type, level, validity and the substance of the forecast. Every file
says so in its <note> and <code>RECONSTRUCTED</code>, names its source, and states what was
assumed where something was not published (an end time, an issue time). The descriptions
summarise the reports in Chinese and English; they are not the original wording.

The geological-hazard warning of 2025-07-27 names regions, not places: its three levels become
three messages whose polygons are unions of the shipped approximate township zones
(geodata/huairou_townships.geojson): red = central and south-western Huairou (琉璃庙镇, 雁栖镇,
怀北镇, 渤海镇, 九渡河镇: the mountain belt between the plain and the northern townships, and the
south-western mountains), orange = northern Huairou (汤河口镇, 宝山镇, 长哨营满族乡, 喇叭沟门满族乡),
yellow = southern Huairou (the plain: 泉河街道, 龙山街道, 怀柔镇, 庙城镇, 北房镇, 杨宋镇, 桥梓镇).

Deterministic. Run:  .venv/bin/python scripts/make_2025_warnings.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import shapely

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "geodata" / "alerts"

RED = ["琉璃庙镇", "雁栖镇", "怀北镇", "渤海镇", "九渡河镇"]
ORANGE = ["汤河口镇", "宝山镇", "长哨营满族乡", "喇叭沟门满族乡"]
YELLOW = ["泉河街道", "龙山街道", "怀柔镇", "庙城镇", "北房镇", "杨宋镇", "桥梓镇"]

GEO_SOURCE = ("北京市规划和自然资源委员会、北京市气象局联合发布的地质灾害气象风险预警，据2025-07-27新闻报道 "
              "(Beijing Municipal Commission of Planning and Natural Resources with the Beijing Meteorological "
              "Service, as reported 2025-07-27)")
XINHUA_NOV = "新华社 Xinhua, 2025-11-15/16, bj.news.cn/20251116/c7d5f03787dd4b2db4892eec55cb7c76/c.html"

WARNINGS = [
    {
        "file": "huairou_geohazard_red_2025-07-27.xml", "townships": RED,
        "identifier": "RECONSTRUCTED-GEOHAZARD-20250727080000-RED",
        "sender": "北京市规划和自然资源委员会", "sender_name": "北京市规划和自然资源委员会 北京市气象局",
        "sent": "2025-07-27T08:00:00+08:00", "expires": "2025-07-28T08:00:00+08:00",
        "event": "地质灾害气象风险", "event_en": "Geological hazard weather risk", "severity": "Extreme",
        "headline": "北京市地质灾害气象风险红色预警（怀柔区中部、西南部）",
        "headline_en": "Red geological-hazard weather risk warning for central and south-western Huairou",
        "description": "2025年7月27日8时发布：怀柔区中部、西南部地质灾害气象风险红色预警，北部橙色，南部黄色，有效期至7月28日8时。"
                       "（据新闻报道整理，非原文）",
        "description_en": "Issued 2025-07-27 08:00: geological-hazard weather risk red for central and south-western "
                          "Huairou, orange for the north, yellow for the south, valid to 07-28 08:00. (Summarised "
                          "from news reports; not the original wording.)",
        "area": "怀柔区中部、西南部（琉璃庙镇、雁栖镇、怀北镇、渤海镇、九渡河镇，近似边界）",
        "source": GEO_SOURCE,
        "assumed": "The warning names regions, not townships: the polygon is the union of the approximate zones of "
                   + "、".join(RED) + ", taken as 'central and south-western Huairou'.",
    },
    {
        "file": "huairou_geohazard_orange_2025-07-27.xml", "townships": ORANGE,
        "identifier": "RECONSTRUCTED-GEOHAZARD-20250727080000-ORANGE",
        "sender": "北京市规划和自然资源委员会", "sender_name": "北京市规划和自然资源委员会 北京市气象局",
        "sent": "2025-07-27T08:00:00+08:00", "expires": "2025-07-28T08:00:00+08:00",
        "event": "地质灾害气象风险", "event_en": "Geological hazard weather risk", "severity": "Severe",
        "headline": "北京市地质灾害气象风险橙色预警（怀柔区北部）",
        "headline_en": "Orange geological-hazard weather risk warning for northern Huairou",
        "description": "2025年7月27日8时发布：怀柔区北部地质灾害气象风险橙色预警（中部、西南部红色，南部黄色），有效期至7月28日8时。"
                       "（据新闻报道整理，非原文）",
        "description_en": "Issued 2025-07-27 08:00: geological-hazard weather risk orange for northern Huairou (red "
                          "centre and south-west, yellow south), valid to 07-28 08:00. (Summarised from news "
                          "reports; not the original wording.)",
        "area": "怀柔区北部（汤河口镇、宝山镇、长哨营满族乡、喇叭沟门满族乡，近似边界）",
        "source": GEO_SOURCE,
        "assumed": "The polygon is the union of the approximate zones of " + "、".join(ORANGE)
                   + ", taken as 'northern Huairou'.",
    },
    {
        "file": "huairou_geohazard_yellow_2025-07-27.xml", "townships": YELLOW,
        "identifier": "RECONSTRUCTED-GEOHAZARD-20250727080000-YELLOW",
        "sender": "北京市规划和自然资源委员会", "sender_name": "北京市规划和自然资源委员会 北京市气象局",
        "sent": "2025-07-27T08:00:00+08:00", "expires": "2025-07-28T08:00:00+08:00",
        "event": "地质灾害气象风险", "event_en": "Geological hazard weather risk", "severity": "Moderate",
        "headline": "北京市地质灾害气象风险黄色预警（怀柔区南部）",
        "headline_en": "Yellow geological-hazard weather risk warning for southern Huairou",
        "description": "2025年7月27日8时发布：怀柔区南部地质灾害气象风险黄色预警（中部、西南部红色，北部橙色），有效期至7月28日8时。"
                       "（据新闻报道整理，非原文）",
        "description_en": "Issued 2025-07-27 08:00: geological-hazard weather risk yellow for southern Huairou (red "
                          "centre and south-west, orange north), valid to 07-28 08:00. (Summarised from news "
                          "reports; not the original wording.)",
        "area": "怀柔区南部（泉河街道、龙山街道、怀柔镇、庙城镇、北房镇、杨宋镇、桥梓镇，近似边界）",
        "source": GEO_SOURCE,
        "assumed": "The polygon is the union of the approximate zones of " + "、".join(YELLOW)
                   + ", taken as 'southern Huairou'.",
    },
    {
        "file": "huairou_rainstorm_red_2025-07-28.xml", "codes": ["110116000000"],
        "identifier": "RECONSTRUCTED-11B03-20250728-RED",
        "sender": "怀柔区气象台", "sender_name": "怀柔区气象台",
        "sent": "2025-07-28T16:00:00+08:00", "expires": "2025-07-29T10:00:00+08:00",
        "event": "暴雨", "event_en": "Rainstorm", "severity": "Extreme",
        "headline": "怀柔区气象台发布暴雨红色预警信号",
        "headline_en": "Huairou District Meteorological Observatory: red rainstorm warning signal",
        "description": "预计28日傍晚起，怀柔区局地6小时降雨量将超过150毫米，山区发生山洪、泥石流、滑坡等灾害的可能性极大。"
                       "预警有效至29日10时。（据新闻报道整理，非原文）",
        "description_en": "From the evening of the 28th, local 6-hour rainfall over 150 mm in Huairou; flash floods, "
                          "debris flows and landslides very likely in the mountains. In force until the 29th, 10:00. "
                          "(Summarised from news reports; not the original wording.)",
        "area": "怀柔区", "source": "界面新闻 Jiemian, 2025-07-28, citing 气象北京",
        "assumed": "The issue time was not in the report: 2025-07-28 16:00 is ASSUMED (the report of the 28th "
                   "announces the rain from that evening); the end, 2025-07-29 10:00, is as published.",
    },
    {
        "file": "beijing_gale_blue_2025-11-15.xml", "codes": ["110000000000"],
        "identifier": "RECONSTRUCTED-11B06-20251115100000-BLUE",
        "sender": "北京市气象台", "sender_name": "北京市气象台",
        "sent": "2025-11-15T10:00:00+08:00", "expires": "2025-11-17T20:00:00+08:00",
        "event": "大风", "event_en": "Gale", "severity": "Minor",
        "headline": "北京市气象台2025年11月15日10时发布大风蓝色预警信号",
        "headline_en": "Beijing Meteorological Observatory: blue gale warning signal, 2025-11-15 10:00",
        "description": "15日夜间至17日傍晚，本市有3、4级偏北风，阵风6、7级；16日早晨至前半夜风力较大，阵风7、8级，山区阵风9级以上。"
                       "（据新闻报道整理，非原文）",
        "description_en": "From late on the 15th to the evening of the 17th, northerly wind force 3-4, gusts 6-7; "
                          "strongest from the morning of the 16th to the first half of that night, gusts 7-8, "
                          "9 or more in the mountains. (Summarised from news reports; not the original wording.)",
        "area": "北京市", "source": XINHUA_NOV,
        "assumed": "The end of validity was not published: 2025-11-17 20:00 (the evening of the 17th, when the "
                   "forecast wind ends) is ASSUMED.",
    },
    {
        "file": "beijing_cold_wave_blue_2025-11-15.xml", "codes": ["110000000000"],
        "identifier": "RECONSTRUCTED-11B05-20251115154000-BLUE",
        "sender": "北京市气象台", "sender_name": "北京市气象台",
        "sent": "2025-11-15T15:40:00+08:00", "expires": "2025-11-18T00:00:00+08:00",
        "event": "寒潮", "event_en": "Cold wave", "severity": "Minor",
        "headline": "北京市气象台2025年11月15日15时40分发布寒潮蓝色预警信号",
        "headline_en": "Beijing Meteorological Observatory: blue cold wave warning signal, 2025-11-15 15:40",
        "description": "16日至17日，本市日平均气温将下降8至10℃，最低气温下降6至8℃；夜间最低气温平原地区-3℃左右，其他地区-6至-4℃。"
                       "（据新闻报道整理，非原文）",
        "description_en": "16th-17th: daily mean temperature falls 8-10 °C, minimum falls 6-8 °C; night minimum about "
                          "-3 °C on the plain and -6 to -4 °C elsewhere. (Summarised from news reports; not the "
                          "original wording.)",
        "area": "北京市", "source": XINHUA_NOV,
        "assumed": "The end of validity was not published: the end of the 17th (2025-11-18 00:00), the last day "
                   "of the forecast fall, is ASSUMED.",
    },
]


def zones() -> dict[str, object]:
    doc = json.loads((ROOT / "geodata" / "huairou_townships.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["name"]: shapely.from_geojson(json.dumps(f["geometry"])) for f in doc["features"]}


def rings(names: list[str], by_name: dict) -> list[list[tuple[float, float]]]:
    """The exterior rings of the union of the townships' zones (not simplified: a simplified edge
    would cut into the neighbouring townships, which the warning does not name)."""
    union = shapely.union_all([by_name[n] for n in names])
    parts = list(getattr(union, "geoms", [union]))
    out = []
    for p in parts:
        if p.area < 1e-6:
            continue
        out.append([(round(x, 6), round(y, 6)) for x, y in p.exterior.coords])
    return out


def cap(w: dict, by_name: dict) -> str:
    note = (f"RECONSTRUCTED from published text, not a captured feed. Source: {w['source']}. Issue time, "
            f"type, level and validity as published; the description summarises the reports. {w['assumed']} "
            f"Built by scripts/make_2025_warnings.py for the monitor demo.")
    area = [f"      <areaDesc>{escape(w['area'])}</areaDesc>"]
    for ring in rings(w["townships"], by_name) if "townships" in w else []:
        area.append("      <polygon>" + " ".join(f"{lat},{lon}" for lon, lat in ring) + "</polygon>")
    for code in w.get("codes", []):
        area.append(f"      <geocode><valueName>GB/T 2260</valueName><value>{code}</value></geocode>")
    area_xml = "\n".join(area)

    def info(lang, event, headline, description):
        return f"""  <info>
    <language>{lang}</language>
    <category>{'Geo' if 'GEOHAZARD' in w['identifier'] else 'Met'}</category>
    <event>{escape(event)}</event>
    <urgency>Expected</urgency>
    <severity>{w['severity']}</severity>
    <certainty>Likely</certainty>
    <onset>{w['sent']}</onset>
    <expires>{w['expires']}</expires>
    <senderName>{escape(w['sender_name'])}</senderName>
    <headline>{escape(headline)}</headline>
    <description>{escape(description)}</description>
    <area>
{area_xml}
    </area>
  </info>
"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{w['identifier']}</identifier>
  <sender>{escape(w['sender'])}</sender>
  <sent>{w['sent']}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <code>RECONSTRUCTED</code>
  <note>{escape(note)}</note>
{info('zh-CN', w['event'], w['headline'], w['description'])}{info('en-US', w['event_en'], w['headline_en'], w['description_en'])}</alert>
"""


def main() -> None:
    by_name = zones()
    for w in WARNINGS:
        (OUT / w["file"]).write_text(cap(w, by_name), encoding="utf-8")
        print("wrote", OUT / w["file"])


if __name__ == "__main__":
    sys.exit(main())
