"""What every careledger DAG shares: the day a run works on, where things live, failure e-mail.

Kept light on purpose: this module is imported whenever a DAG file is parsed, so it imports only
the Task SDK, the SMTP notifier and the standard library. Library code (polars, GX, the database, the
areas) is imported inside task bodies.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import Asset, Param, get_current_context

LONDON = ZoneInfo("Europe/London")
PROVIDERS: tuple[str, ...] = ("A", "B", "C")

# One asset per provider: "provider X's files for a day are in the ledger". The feeds DAG marks
# them; reconciliation runs when all three are marked (or at its cut-off time). The event's extra
# carries the day, so the triggered run knows which day to reconcile.
FEED_ASSETS: dict[str, Asset] = {
    p: Asset(name=f"careledger_feed_{p}", uri=f"careledger://feeds/provider-{p}", group="careledger") for p in PROVIDERS
}

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def common_params(day_help: str) -> dict[str, Param]:
    """Params every DAG takes. ``day`` empty = derive it from the run's logical date."""
    return {
        "day": Param(None, type=["null", "string"], pattern=DATE_PATTERN, title="London day (YYYY-MM-DD)", description=day_help),
        "db_url": Param(
            None, type=["null", "string"], title="Ledger database URL",
            description="Empty = $CARELEDGER_DB_URL, else sqlite:///careledger.db",
        ),
        "out_dir": Param(
            None, type=["null", "string"], title="Output folder",
            description="Reports, schedules, outbox, validation; empty = $CARELEDGER_OUT_DIR, else out/",
        ),
    }


def finance_email() -> str:
    return os.environ.get("CARELEDGER_FINANCE_EMAIL", "finance@localhost")


def failure_notifier() -> Any:
    """Airflow's SMTP notifier, addressed to finance; uses the `smtp_default` connection."""
    return SmtpNotifier(
        to=finance_email(),
        from_email=os.environ.get("CARELEDGER_MAIL_FROM", "careledger@localhost"),
        subject="[careledger] {{ ti.dag_id }}.{{ ti.task_id }} failed for {{ params.day or ds }}",
        html_content=(
            "<p>Task <b>{{ ti.task_id }}</b>{% if ti.map_index >= 0 %} (item {{ ti.map_index }}){% endif %} of "
            "<b>{{ ti.dag_id }}</b> failed for day {{ params.day or ds }} (run {{ run_id }}, try {{ ti.try_number }}).</p>"
            "<p>{{ exception | e }}</p>"
            "<p>Nothing from the failed step was kept (each step is one database transaction); the rest of the "
            "run carried on where it could. See docs/runbook.md, then clear the task to re-run it.</p>"
        ),
    )


def nightly_deadline() -> dt.timedelta:
    """How long after a nightly reconciliation run is queued finance is told it has not finished:
    ``$CARELEDGER_NIGHTLY_DEADLINE_SECONDS``, default 7200 (two hours). The one place the interval is
    set; read when the DAG file is parsed, so it is the DAG processor's environment that counts (the
    deadline is stored with the serialized DAG). The scheduler-driven test sets a few seconds."""
    raw = os.environ.get("CARELEDGER_NIGHTLY_DEADLINE_SECONDS", "7200")
    try:
        seconds = int(raw)
    except ValueError:
        raise ValueError(f"CARELEDGER_NIGHTLY_DEADLINE_SECONDS must be a whole number of seconds, got {raw!r}") from None
    if seconds <= 0:
        raise ValueError(f"CARELEDGER_NIGHTLY_DEADLINE_SECONDS must be positive, got {seconds}")
    return dt.timedelta(seconds=seconds)


def duration_text(interval: dt.timedelta) -> str:
    """``2 hours``, ``90 minutes``, ``8 seconds``: an interval as finance reads it in an e-mail."""
    seconds = int(interval.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    raise AssertionError("unreachable: every whole number of seconds divides by 1")


def default_args() -> dict[str, Any]:
    """Retries: one, five minutes later, for transient trouble (a refused file fails without retry).
    In-process runs (demo, tests) set CARELEDGER_TASK_RETRIES=0 so a failure is reported at once."""
    return {
        "owner": "finance-systems",
        "retries": int(os.environ.get("CARELEDGER_TASK_RETRIES", "1")),
        "retry_delay": dt.timedelta(minutes=5),
        "on_failure_callback": [failure_notifier()],
    }


# --- called inside task bodies ------------------------------------------------------------------
def run_day(offset_days: int) -> dt.date:
    """The London day this run works on (see :func:`resolve_day`), from the running task's context."""
    ctx = get_current_context()
    events = ctx.get("triggering_asset_events") or {}
    event_days = [e.extra["day"] for evs in events.values() for e in evs if (e.extra or {}).get("day")]
    anchor = ctx.get("logical_date") or ctx["dag_run"].run_after
    return resolve_day(ctx["params"].get("day"), event_days, anchor, offset_days)


def resolve_day(day_param: str | None, event_days: list[str], anchor: dt.datetime, offset_days: int) -> dt.date:
    """Param ``day`` if given; else the latest day named by the triggering feed events (an
    Asset-triggered reconciliation); else the London date of the run's logical date minus
    ``offset_days`` (the 02:00 run on D+1 loads day D: offset 1). Never the wall clock, so a re-run
    or a backfill hits the same partition."""
    if day_param:
        return dt.date.fromisoformat(day_param)
    if event_days:
        return dt.date.fromisoformat(max(event_days))
    assert anchor.tzinfo is not None, "the run's logical date must be timezone-aware"
    local = anchor.astimezone(LONDON)
    # A plain datetime.date: the scheduler's logical date is a pendulum DateTime whose .date() is a
    # pendulum Date, which database drivers (sqlite3) refuse as a parameter.
    return dt.date(local.year, local.month, local.day) - dt.timedelta(days=offset_days)


def db_url() -> str | None:
    """Ledger database: Param ``db_url``, else $CARELEDGER_DB_URL, else the ledger's default."""
    return get_current_context()["params"].get("db_url") or os.environ.get("CARELEDGER_DB_URL") or None


def out_dir() -> Path:
    path = Path(get_current_context()["params"].get("out_dir") or os.environ.get("CARELEDGER_OUT_DIR", "out"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def councils_due(db: str | None, day: dt.date) -> list[str]:
    """Councils whose weekly run (clawback/contributions) falls on ``day``'s weekday."""
    # Inside: parsing a DAG file must not import the database layer.
    from db.engine import get_engine
    from records.reference import load_reference

    with get_engine(db).connect() as conn:
        ref = load_reference(conn)
    return sorted(name for name, pol in ref.councils.items() if pol.clawback_isoweekday == day.isoweekday())


def week_for_this_run(day_offset: int) -> str:
    """The ISO week a weekly run works on: its ``week`` Param, else the week of its day."""
    return get_current_context()["params"].get("week") or iso_week(run_day(day_offset))


def weekly_params(council_title: str) -> dict:
    """Params every weekly DAG takes: the day, the ISO week and an optional council."""
    return {
        **common_params("The council weekday this run is for; empty = the run's logical date"),
        "week": Param(None, type=["null", "string"], pattern=r"^\d{4}-W\d{2}$", title="ISO week, e.g. 2026-W10"),
        "council": Param(None, type=["null", "string"], title=council_title),
    }


def councils_for_this_run(day_offset: int) -> list[str]:
    """The councils a weekly run acts for: the one named in the run's ``council`` Param, else those
    whose weekday it is (shared by clawback_weekly and contributions_weekly)."""
    forced = get_current_context()["params"].get("council")
    return [forced] if forced else councils_due(db_url(), run_day(day_offset))


def jsonable(obj: Any) -> Any:
    """Make an entry point's summary safe for XCom (paths and dates become strings)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)
