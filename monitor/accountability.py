"""Township accountability: who answers for each township's open follow-ups, and how old they are.

Each township has a responsible lead (`[leads]` in config.toml: township name or code = person);
a follow-up may be assigned to a person (`monitor followups assign ID --to NAME`) and
acknowledged (`monitor followups ack ID`). Its owner is the person it is assigned to, else its
township's lead, else 未指派 (unassigned). The review shows, per township and owner, the open
items by age.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import clock
from .errors import ConfigError, UsageError

AGES = (("le1", "1天内 ≤1 d", 1), ("le7", "2-7天 2-7 d", 7), ("gt7", "7天以上 >7 d", None))
UNASSIGNED = "未指派 unassigned"


@dataclass
class OwnerRow:
    township: str
    township_name: str
    owner: str
    lead: str | None
    open: int = 0
    acked: int = 0
    ages: dict[str, int] = field(default_factory=lambda: {a: 0 for a, _, _ in AGES})
    p1: int = 0


def leads(store, config) -> dict[str, str]:
    """township code -> the lead named in [leads]; ConfigError naming a township not found."""
    raw = config.data.get("leads", {}) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{config.path}: [leads] 应为“乡镇 = 负责人”的表；[leads] must be a table of township = person")
    out = {}
    for town, person in raw.items():
        if not isinstance(person, str) or not person.strip():
            raise ConfigError(f"{config.path}: [leads] {town} 的负责人应为姓名；[leads] {town}: the lead must be a name")
        try:
            out[store.township_lookup(town)["code"]] = person.strip()
        except UsageError as e:
            raise ConfigError(f"{config.path}: [leads] {e}") from None
    return out


def owners(store, config, now: datetime) -> list[OwnerRow]:
    """Open follow-ups per township and owner, by age (from when each opened to `now`)."""
    lead = leads(store, config)
    names = {t["code"]: t["name"] for t in store.townships(with_geometry=False)}
    rows: dict[tuple[str, str], OwnerRow] = {}
    for u in store.open_follow_up_owners():
        code = u["township"] or ""
        owner = u["assigned_to"] or lead.get(code) or UNASSIGNED
        r = rows.setdefault((code, owner), OwnerRow(code, names.get(code, "-"), owner, lead.get(code)))
        r.open += 1
        r.acked += bool(u["acked_at"])
        r.p1 += u["priority"] == "P1"
        days = (now - clock.from_iso(u["since"])).total_seconds() / 86400
        for key, _, limit in AGES:
            if limit is None or days <= limit:
                r.ages[key] += 1
                break
    return sorted(rows.values(), key=lambda r: (r.township, r.owner))
