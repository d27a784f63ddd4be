"""`monitor followups`: evaluate the rules and list what needs someone to go and look."""

from __future__ import annotations

import click

from .context import App, echo_json, pass_app, table


@click.command("followups")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_app
def followups(app: App, as_json: bool):
    """Evaluate the rules now (or at --as-of) and list the open follow-ups by priority.

    P1 act today, P2 this week, P3 routine; within a priority, sites serving more
    households come first. Each follow-up says which rule fired, why, and since when.
    """
    from .. import clock, evaluation

    store = app.existing_store()
    evaluation.run(store, app.config, clock.now())
    rows = store.open_follow_ups()
    if as_json:
        echo_json([{
            "facility_id": r["facility_id"], "name": r["name"], "township": r["township_name"],
            "township_code": r["township_code"], "kind": r["kind"], "rule": r["rule"], "priority": r["priority"],
            "reason": r["reason"], "reason_en": r["reason_en"], "causes": r["causes"], "since": r["since"],
            "households": r["households"],
        } for r in rows])
        return
    tz = app.config.timezone
    table(f"待跟进 Follow-ups ({len(rows)})", ["优先级", "ID", "名称 name", "乡镇 township", "原因 reason", "起始 since"],
          [[r["priority"], r["facility_id"], r["name"], r["township_name"], r["reason"], clock.local(r["since"], tz)]
           for r in rows])


def register(main: click.Group) -> None:
    main.add_command(followups)
