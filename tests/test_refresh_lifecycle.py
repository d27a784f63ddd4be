"""The CAP lifecycle through `alerts refresh` on a loopback server: Updates and Cancels supersede
what they reference in either arrival order (CAP, CMA), and forecast alerts replace their
earlier versions instead of piling up.

Real documents: OASIS CAP 1.2 appendix A.3 (an Update), Environment Canada's canada.cap (an
Update of two messages), QWeather's getWeatherAlertCurrent-zh (a CMA update). The messages they
reference are not in the data; DERIVED copies stand in for them, made from the real ones by
changing only identifier, sent, msgType and references, and marked DERIVED below. No real
Cancel exists in the data, so the Cancel is DERIVED the same way.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import Cli
from loopback import ALERTS, make_config, rows, serving
from werkzeug import Response

A3 = (ALERTS / "cap" / "v1dot2_appendix_adot3.xml").read_text(encoding="utf-8")
CANADA = (ALERTS / "cap" / "canada.cap").read_text(encoding="utf-8")
CMA_UPDATE = json.loads((ALERTS / "cn" / "getWeatherAlertCurrent-zh__850bc9b.json").read_text(encoding="utf-8"))


def derive(cap: str, *, identifier: str, sent: str, msg_type: str, references: str | None) -> str:
    """DERIVED: a real CAP message with another identifier, sent, msgType and references."""
    cap = re.sub(r"<identifier>[^<]*</identifier>", f"<identifier>{identifier}</identifier>", cap, count=1)
    cap = re.sub(r"<sent>[^<]*</sent>", f"<sent>{sent}</sent>", cap, count=1)
    cap = re.sub(r"<msgType>[^<]*</msgType>", f"<msgType>{msg_type}</msgType>", cap, count=1)
    cap = re.sub(r"\s*<references>[^<]*</references>", "", cap)
    if references:
        cap = cap.replace("</scope>", f"</scope>\n    <references>{references}</references>", 1)
    return cap


A3_ORIGINAL = derive(A3, identifier="TRI13970876.1", sent="2003-06-11T20:30:00-07:00", msg_type="Alert",
                     references=None)
A3_CANCEL = derive(A3, identifier="TRI13970876.3", sent="2003-06-11T21:30:00-07:00", msg_type="Cancel",
                   references="trinet@caltech.edu,TRI13970876.2,2003-06-11T20:56:00-07:00")
CANADA_ORIGINALS = [derive(CANADA, identifier=i, sent=s, msg_type="Alert", references=None)
                    for i, s in (("2.49.0.1.124.a3f342a4.2012", "2012-05-02T21:45:05-00:00"),
                                 ("2.49.0.1.124.60f31a3a.2012", "2012-05-02T21:55:21-00:00"))]


@pytest.fixture(scope="module")
def http():
    with serving() as s:
        yield s


@pytest.fixture
def feed(http, tmp_path):
    """feed(kind) -> (cli, serve): one source at /feed whose body the test changes between refreshes."""
    http.clear()
    current = {}

    def handler(request):
        body, ctype = current["doc"]
        return Response(body, content_type=ctype)

    http.expect_request("/feed").respond_with_handler(handler)

    def make(kind, **source):
        url = http.url_for("/feed") + ("?latitude={lat}&longitude={lon}" if kind == "forecast" else "")
        cli = Cli(tmp_path / "monitor.db", make_config(tmp_path, [{"name": "feed", "kind": kind, "url": url, **source}]))
        cli("init")

        def serve(doc: str | bytes, ctype="application/xml"):
            current["doc"] = (doc.encode() if isinstance(doc, str) else doc, ctype)

        return cli, serve

    return make


def refresh(cli, as_of=None) -> dict:
    r = cli("alerts", "refresh", "--json", as_of=as_of, ok=False)
    assert r.exit_code == 0, r.output
    (s,) = json.loads(r.stdout)["sources"]
    return s


def states(cli, as_of=None) -> dict[str, tuple[str, int | None]]:
    data = json.loads(cli("alerts", "list", "--json", as_of=as_of).stdout)
    ids = {a["id"]: a["identifier"] for a in data}
    return {a["identifier"]: (a["state"], ids.get(a["superseded_by"])) for a in data}


def test_update_then_cancel_supersede_in_arrival_order(feed):
    cli, serve = feed("cap")
    serve(A3_ORIGINAL)
    assert refresh(cli)["new"] == 1
    assert states(cli) == {"TRI13970876.1": ("active", None)}
    serve(A3)  # the real Update
    s = refresh(cli)
    assert (s["new"], s["updated"], s["cancelled"]) == (1, 1, 0)
    assert states(cli) == {"TRI13970876.1": ("superseded", "TRI13970876.2"), "TRI13970876.2": ("active", None)}
    serve(A3_CANCEL)
    s = refresh(cli)
    assert (s["new"], s["updated"], s["cancelled"]) == (1, 0, 1)
    assert states(cli) == {"TRI13970876.1": ("superseded", "TRI13970876.2"),
                           "TRI13970876.2": ("cancelled", "TRI13970876.3"),
                           "TRI13970876.3": ("cancelled", None)}
    assert json.loads(cli("alerts", "list", "--active", "--json").stdout) == []
    log = rows(cli.db, "SELECT new, updated, cancelled FROM fetch_log ORDER BY id")
    assert log == [{"new": 1, "updated": 0, "cancelled": 0}, {"new": 1, "updated": 1, "cancelled": 0},
                   {"new": 1, "updated": 0, "cancelled": 1}]


def test_cancel_and_update_arriving_before_what_they_supersede(feed):
    cli, serve = feed("cap")
    for doc in (A3_CANCEL, A3, A3_ORIGINAL):
        serve(doc)
        refresh(cli)
    assert states(cli) == {"TRI13970876.1": ("superseded", "TRI13970876.2"),
                           "TRI13970876.2": ("cancelled", "TRI13970876.3"),
                           "TRI13970876.3": ("cancelled", None)}


def test_canada_update_of_two_messages_that_arrive_later_in_an_index(feed, http):
    cli, serve = feed("cap")
    serve(CANADA, "application/cap+xml")
    refresh(cli)
    # sent 23:21, expires 00:20 next day: in force at 23:30, superseded by nothing yet
    assert states(cli, "2012-05-02T23:30:00Z") == {"2.49.0.1.124.6bddbc91.2012": ("active", None)}
    for n, doc in enumerate(CANADA_ORIGINALS):
        http.expect_request(f"/old{n}.cap").respond_with_data(doc, content_type="application/cap+xml")
    serve('<rss version="2.0"><channel><title>ec</title><item><link>old0.cap</link></item>'
          '<item><link>old1.cap</link></item></channel></rss>', "application/rss+xml")
    s = refresh(cli)
    assert (s["documents"], s["new"]) == (3, 2)
    got = states(cli, "2012-05-02T23:30:00Z")
    assert got["2.49.0.1.124.a3f342a4.2012"] == ("superseded", "2.49.0.1.124.6bddbc91.2012")
    assert got["2.49.0.1.124.60f31a3a.2012"] == ("superseded", "2.49.0.1.124.6bddbc91.2012")


def cma_original() -> bytes:
    """DERIVED: the alert the real QWeather update supersedes (id, time and messageType changed)."""
    doc = json.loads(json.dumps(CMA_UPDATE))
    (a,) = doc["alerts"]
    a.update(id="202510181140100706230391", issuedTime="2025-10-18T11:40+08:00",
             messageType={"code": "alert"}, headline="临桂区气象台发布大风蓝色预警信号")
    return json.dumps(doc, ensure_ascii=False).encode()


@pytest.mark.parametrize("order", ["original first", "update first"])
def test_cma_supersedes_without_a_time_match_any_sent(feed, order):
    cli, serve = feed("cma", area_codes=["450312000000"])
    docs = [cma_original(), json.dumps(CMA_UPDATE, ensure_ascii=False).encode()]
    for doc in docs if order == "original first" else docs[::-1]:
        serve(doc, "application/json")
        refresh(cli)
    got = states(cli, "2025-10-24T12:00:00+08:00")
    assert got == {"202510181140100706230391": ("superseded", "202510241119105837988676"),
                   "202510241119105837988676": ("active", None)}


# --- forecasts --------------------------------------------------------------------------------


def forecast(cold: float = -16.0, gust_kmh: float = 104.4) -> bytes:
    from test_alert_forecast import winter  # SYNTHETIC Open-Meteo-shaped winter (made up there)

    doc = winter()
    doc["hourly"]["temperature_2m"] = [cold if t == -16.0 else t for t in doc["hourly"]["temperature_2m"]]
    doc["hourly"]["wind_gusts_10m"] = [gust_kmh if g == 104.4 else g for g in doc["hourly"]["wind_gusts_10m"]]
    return json.dumps(doc).encode()


def mild() -> bytes:
    from test_alert_forecast import winter

    doc = winter()
    n = len(doc["hourly"]["time"])
    doc["hourly"].update(temperature_2m=[0.0] * n, wind_gusts_10m=[10.0] * n, snowfall=[0.0] * n)
    return json.dumps(doc).encode()


def forecast_rows(cli) -> list[dict]:
    return rows(cli.db, "SELECT identifier, sent, state, superseded_by, headline FROM alerts WHERE format = 'forecast'"
                        " ORDER BY id")


def test_forecast_source_replaces_instead_of_piling_up(feed):
    cli, serve = feed("forecast")
    serve(forecast(), "application/json")
    s = refresh(cli, "2025-01-10T08:00:00+08:00")
    assert s["documents"] == 16 and s["new"] == 64  # 16 townships x 4 hazards
    first = forecast_rows(cli)
    assert {r["sent"] for r in first} == {"2025-01-10T00:00:00Z"}  # sent = the fetch time
    assert {r["identifier"].split(":")[2] for r in first} == {"low_temperature", "cold_wave", "gale", "blizzard"}
    active = json.loads(cli("alerts", "list", "--active", "--json", as_of="2025-01-10T08:00:00+08:00").stdout)
    assert len(active) == 64 and {len(a["townships"]) for a in active} == {1}

    s = refresh(cli, "2025-01-10T08:15:00+08:00")  # the same forecast again: nothing new stored
    assert (s["new"], s["duplicate"], s["updated"]) == (0, 64, 0)

    serve(forecast(cold=-21.0), "application/json")  # colder: low temperature and cold wave change
    s = refresh(cli, "2025-01-10T09:00:00+08:00")
    assert (s["new"], s["duplicate"], s["updated"]) == (32, 32, 32)
    lows = [r for r in forecast_rows(cli) if ":low_temperature:" in r["identifier"]]
    assert [r["state"] for r in lows] == ["updated"] * 16 + ["active"] * 16
    assert all("-21.0" in r["headline"] for r in lows[16:])

    serve(mild(), "application/json")  # the threat is gone: every forecast alert is withdrawn
    s = refresh(cli, "2025-01-10T10:00:00+08:00")
    assert (s["new"], s["updated"]) == (0, 64)  # 32 changed and 32 unchanged ones were active
    assert json.loads(cli("alerts", "list", "--active", "--json", as_of="2025-01-10T10:00:00+08:00").stdout) == []
    assert {r["state"] for r in forecast_rows(cli)} == {"updated"}
    assert len(forecast_rows(cli)) == 64 + 32
    # the withdrawn ones say when, so the monthly review stops counting them there
    withdrawn = rows(cli.db, "SELECT withdrawn FROM alerts WHERE format = 'forecast' AND superseded_by IS NULL")
    assert {r["withdrawn"] for r in withdrawn} == {"2025-01-10T02:00:00Z"} and len(withdrawn) == 64
    from monitor.report import validity
    from monitor.store import Store

    store = Store.open(cli.db)
    ends = {validity(a)[1] for a in store.alerts_overlapping("2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z")
            if a["superseded_by"] is None}
    assert ends == {"2025-01-10T02:00:00Z"}
