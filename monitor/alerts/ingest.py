"""Storing parsed alerts and applying the CAP lifecycle.

Deduplicate on (sender, identifier, sent); an Update or Cancel supersedes the messages it
references (marking them `updated` or `cancelled`, with `superseded_by`), whichever order they
arrive in; a reference without a sent time (CMA's) matches that identifier at any time;
`expires` ends an alert without touching the row; non-Actual messages (Exercise, Test, Draft)
are stored but never count as in force. One call is one transaction (it joins the caller's).

Forecast alerts (format 'forecast', synthesised from a forecast at each fetch, sent = fetch
time) have no references: a later one with the same (sender, identifier) replaces the earlier
(`updated`), and one whose content is unchanged (colour, onset, expires, headline) is counted
as a duplicate and not stored again, so a refresh every 15 minutes does not pile up copies.
`retire_forecasts` supersedes a township's forecast alerts that a newer forecast no longer gives.

`withdraw` is a person retiring a bad or mistaken alert (`monitor alerts withdraw`): the row is
kept, with when, who and why, and is no longer in force anywhere; only the first withdrawal counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import clock
from ..errors import UsageError
from ..facilities import CONTROL, CONTROL_OR_NEWLINE
from ..store import Store
from .model import Alert


@dataclass
class IngestCounts:
    new: int = 0
    duplicate: int = 0
    updated: int = 0
    cancelled: int = 0


def row_of(alert: Alert, received: str) -> dict:
    return {
        "source": alert.source, "format": alert.format, "sender": alert.sender,
        "identifier": alert.identifier, "sent": alert.sent or "", "msg_type": alert.msg_type,
        "status": alert.status, "scope": alert.scope, "event": alert.event, "hazard": alert.hazard,
        "colour": alert.colour, "cma_type": alert.cma_type, "severity": alert.severity,
        "urgency": alert.urgency, "certainty": alert.certainty, "onset": alert.onset,
        "effective": alert.effective, "expires": alert.expires, "ends": alert.ends,
        "headline": alert.headline, "headline_en": alert.headline_en, "event_en": alert.event_en,
        "sender_name": alert.sender_name, "description": alert.description,
        "instruction": alert.instruction, "language": alert.language, "area_desc": alert.area_desc,
        "area": {"polygons": [list(map(list, ring)) for ring in alert.polygons],
                 "circles": [list(c) for c in alert.circles],
                 "geocodes": [list(g) for g in alert.geocodes]},
        "division_codes": list(alert.division_codes), "refs": [list(r) for r in alert.references],
        "raw": alert.raw, "warnings": list(alert.warnings), "received": received,
    }


def save(store: Store, alerts: list[Alert]) -> IngestCounts:
    """Store `alerts` and apply their references, in one transaction."""
    counts = IngestCounts()
    received = clock.iso(clock.now())
    with store.write():
        for alert in alerts:
            # a forecast's stored namesakes (read once, before it is stored: they cannot include it)
            namesakes = store.find_alert(alert.sender, alert.identifier) if alert.format == "forecast" else None
            if namesakes is not None and _same_forecast(namesakes, alert):
                counts.duplicate += 1
                continue
            new_id = store.insert_alert(row_of(alert, received))
            if new_id is None:
                counts.duplicate += 1
                continue
            counts.new += 1
            if alert.msg_type in ("Update", "Cancel"):
                state = "cancelled" if alert.msg_type == "Cancel" else "updated"
                for sender, identifier, sent in alert.references:
                    for old in store.find_alert(sender or "", identifier, sent):
                        if old["id"] != new_id and store.supersede_alert(old["id"], new_id, state):
                            setattr(counts, state, getattr(counts, state) + 1)
            # a message that arrives after the one that supersedes it is superseded at once
            for later in store.referencing_alerts(alert.sender, alert.identifier, alert.sent, exclude=new_id):
                state = "cancelled" if later["msg_type"] == "Cancel" else "updated"
                store.supersede_alert(new_id, later["id"], state)
            if namesakes is not None:
                counts.updated += _replace_forecast(store, namesakes, alert, new_id)
    return counts


@dataclass
class Withdrawal:
    alert_id: int
    at: str  # UTC ISO
    by: str
    note: str


MAX_BY, MAX_NOTE = 60, 500


def withdraw(store: Store, alert_id: int, *, by: str, note: str, at: str) -> Withdrawal:
    """Retire alert `alert_id` (see the module docstring); UsageError, with nothing changed, for
    an unknown id, an alert withdrawn before, or an empty or unprintable `by` or `note`."""
    by, note = (by or "").strip(), (note or "").strip()
    if not by:
        raise UsageError("--by 为空，请写明是谁撤回；--by is empty: say who withdraws the alert")
    if not note:
        raise UsageError("请用 --note 写明撤回原因；--note is empty: say why the alert is withdrawn")
    if CONTROL_OR_NEWLINE.search(by) or CONTROL.search(note):
        raise UsageError("--by 或 --note 含控制字符，请输入普通文字；--by or --note contains control characters: "
                         "type plain text")
    if len(by) > MAX_BY or len(note) > MAX_NOTE:
        raise UsageError(f"--by 最多 {MAX_BY} 字、--note 最多 {MAX_NOTE} 字；--by is at most {MAX_BY} and --note at "
                         f"most {MAX_NOTE} characters")
    with store.write():
        found = store.find_alert_by_id(alert_id)
        if found is None:
            raise UsageError(f"没有编号为 {alert_id} 的预警，请用 monitor alerts list 查看编号；no alert {alert_id}: "
                             "`monitor alerts list` shows the ids")
        if found["withdrawn"]:
            if found["withdrawn_by"]:
                raise UsageError(f"预警 {alert_id} 已于 {found['withdrawn']} 由 {found['withdrawn_by']} 撤回，不能再次撤回；"
                                 f"alert {alert_id} was already withdrawn at {found['withdrawn']} by "
                                 f"{found['withdrawn_by']}: the first withdrawal stands")
            raise UsageError(f"预警 {alert_id} 已于 {found['withdrawn']} 被更新的预报取代，无需撤回；alert {alert_id} was "
                             f"already retired at {found['withdrawn']} by a newer forecast: nothing to withdraw")
        store.withdraw_alert(alert_id, at=at, by=by, note=note)
    return Withdrawal(alert_id, at, by, note)


def retire_forecasts(store: Store, source: str, township: str, issued: str, keep: set[str]) -> int:
    """A newer forecast for `township` (fetched at `issued`) no longer gives the hazards of the
    source's earlier forecast alerts whose identifier is not in `keep`: mark them `updated`
    (with no successor). Their count."""
    return store.retire_forecast_alerts(source, f"forecast:{township}:", issued, sorted(keep))


def _same_forecast(rows: list[dict], alert: Alert) -> bool:
    """The newest stored forecast with this identifier (`rows`, by sent) is older, still active,
    and says the same."""
    latest = rows[-1] if rows else None
    return (latest is not None and latest["state"] == "active" and (latest["sent"] or "") < (alert.sent or "")
            and all(latest[k] == getattr(alert, k) for k in ("colour", "onset", "expires", "headline")))


def _replace_forecast(store: Store, rows: list[dict], alert: Alert, new_id: int) -> int:
    """Same (sender, identifier) as the stored `rows` (by sent, read before `new_id` was stored):
    the latest sent wins, whichever order they arrive in. How many stored ones this alert replaced."""
    later = [r for r in rows if (r["sent"] or "") > (alert.sent or "")]
    if later:
        store.supersede_alert(new_id, later[-1]["id"], "updated")
        return 0
    return sum(store.supersede_alert(r["id"], new_id, "updated") for r in rows)

