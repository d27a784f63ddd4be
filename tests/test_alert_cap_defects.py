"""Real CAP documents with defects CAP forbids are stored with a warning, not silently (issue 9,
item 13, first half): an Update or Cancel whose <references> is empty, and an identifier or
sender holding a comma or a space (CAP 1.2, 3.2.1). The documents are the OASIS CAP 1.2
appendix examples (tests/data/alerts/cap) with that one element changed here.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from monitor.alerts import parse_document

CAP = Path(__file__).parent / "data" / "alerts" / "cap"
UPDATE = (CAP / "v1dot2_appendix_adot3.xml").read_text(encoding="utf-8")  # msgType Update, with references
ALERT = (CAP / "v1dot2_appendix_adot2.xml").read_text(encoding="utf-8")  # msgType Alert
REFS = "<references>trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00</references>"


def one(xml: str):
    (a,) = parse_document(xml.encode()).alerts
    return a


def test_the_originals_have_no_such_warning():
    for xml in (UPDATE, ALERT):
        assert not [w for w in one(xml).warnings if "CAP forbids" in w or "<references>" in w]


@pytest.mark.parametrize("msg_type", ["Update", "Cancel"])
@pytest.mark.parametrize("references", ["<references></references>", "<references/>", "<references>  </references>", ""])
def test_update_or_cancel_without_references_is_stored_with_a_warning(msg_type, references):
    a = one(UPDATE.replace(REFS, references).replace("<msgType>Update</msgType>", f"<msgType>{msg_type}</msgType>"))
    assert a.msg_type == msg_type and a.references == []
    assert f"msgType {msg_type} without <references>: it supersedes no earlier message" in a.warnings


@pytest.mark.parametrize("identifier, what", [
    ("KSTO 1055887203", "a space"), ("KSTO,1055887203", "a comma"), ("KSTO, 1055887203", "a space and a comma"),
    ("KSTO&amp;1055887203", "'<' or '&'"),
])
def test_identifier_with_a_comma_or_space_is_stored_with_a_warning(identifier, what):
    a = one(ALERT.replace("<identifier>KSTO1055887203</identifier>", f"<identifier>{identifier}</identifier>"))
    assert a.identifier == identifier.replace("&amp;", "&")
    assert any(w.startswith("<identifier>") and f"holds {what}, which CAP forbids" in w for w in a.warnings), a.warnings


def test_sender_with_a_space_is_stored_with_a_warning():
    a = one(ALERT.replace("<sender>KSTO@NWS.NOAA.GOV</sender>", "<sender>KSTO @NWS.NOAA.GOV</sender>"))
    assert any(w.startswith("<sender> 'KSTO @NWS.NOAA.GOV' holds a space") for w in a.warnings), a.warnings


def test_import_stores_them_and_says_so(district, tmp_path):
    bad = tmp_path / "update.xml"
    bad.write_text(UPDATE.replace(REFS, "<references/>").replace("TRI13970876.2", "TRI 13970876,2"), encoding="utf-8")
    r = district("alerts", "import", str(bad))
    assert "1 new" in r.stdout
    assert "without <references>" in r.stderr and "holds a space and a comma" in r.stderr
    (warnings,) = sqlite3.connect(district.db).execute("SELECT warnings FROM alerts").fetchone()
    assert sum("CAP forbids" in w or "without <references>" in w for w in json.loads(warnings)) == 2
