"""Exercise, Test and Draft messages are stored and listed, but never count as warnings in force."""

import json

import pytest
from conftest import DATA

A1 = (DATA / "alerts" / "cap" / "v1dot2_appendix_adot1.xml").read_text(encoding="utf-8")
AT = "2003-04-02T15:00:00-05:00"  # a few minutes after A.1 was sent (it gives no expiry)


@pytest.mark.parametrize("status", ["Exercise", "Test", "Draft"])
def test_non_actual_messages_are_kept_apart(district, tmp_path, status):
    # derived from the OASIS CAP 1.2 example A.1: the same message twice, once Actual and once
    # with another status and identifier
    actual = tmp_path / "actual.xml"
    actual.write_text(A1, encoding="utf-8")
    other = tmp_path / "other.xml"
    other.write_text(A1.replace("<status>Actual</status>", f"<status>{status}</status>")
                       .replace("43b080713727", "43b080713727-x"), encoding="utf-8")
    district("alerts", "import", str(actual), str(other), as_of=AT)
    stored = {a["identifier"]: a for a in json.loads(district("alerts", "list", "--json", as_of=AT).output)}
    assert stored["43b080713727-x"]["status"] == status and stored["43b080713727"]["status"] == "Actual"
    active = json.loads(district("alerts", "list", "--active", "--json", as_of=AT).output)
    assert [a["identifier"] for a in active] == ["43b080713727"]


def test_a_forecast_file_is_imported_for_a_township(district, tmp_path):
    from test_alert_forecast import winter

    f = tmp_path / "open-meteo.json"
    f.write_text(json.dumps(winter()), encoding="utf-8")  # SYNTHETIC winter forecast (see test_alert_forecast)
    r = district("alerts", "import", str(f), ok=False)
    assert r.exit_code == 1 and "township point" in r.output and "nothing was imported" in r.output
    district("alerts", "import", "--township", "汤河口", str(f), as_of="2025-01-10T08:00:00+08:00")
    rows = json.loads(district("alerts", "list", "--json", as_of="2025-01-13T12:00:00+08:00").output)
    assert {a["hazard"] for a in rows} == {"low_temperature", "cold_wave", "gale", "blizzard"}
    assert all(a["format"] == "forecast" and a["townships"] == ["汤河口镇"] for a in rows)
