"""clawback_weekly — the weekly surplus-recovery schedule, and provider instructions only after approval.

Runs at 07:00 London every day and acts for the councils whose ``clawback_weekday`` (councils.yaml)
is that day: it computes the week's schedule (what to recover from which card, and why) into
``out/clawback/<week>/``. Instructions to the providers are issued only when a person approves:
trigger this DAG for the same day with ``approve=true`` and ``approved_by=<name>``. The computed
schedule is the same on the second run (idempotent), so the approval is of exactly what was shown.

Params: ``day`` (empty = the run's logical date, London), ``week`` (empty = ISO week of ``day``),
``council`` (empty = those due on ``day``), ``approve``, ``approved_by``, ``db_url``, ``out_dir``.
"""

from __future__ import annotations

import datetime as dt

import _common as c
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

DAY_OFFSET = 0  # the 07:00 run on day D works for day D


@dag(
    dag_id="clawback_weekly",
    schedule=CronTriggerTimetable("0 7 * * *", timezone="Europe/London"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=c.LONDON),
    catchup=False,
    max_active_runs=1,
    default_args=c.default_args(),
    params={
        **c.weekly_params("Council (empty = those whose clawback day it is)"),
        "approve": Param(False, type="boolean", title="Approve and issue provider instructions"),
        "approved_by": Param("", type="string", title="Who approves (required with approve)"),
    },
    tags=["careledger", "clawback"],
)
def clawback_weekly():
    @task
    def councils_due() -> list[str]:
        return c.councils_for_this_run(DAY_OFFSET)

    @task(map_index_template="{{ council }}")
    def compute_schedule(council: str) -> dict:
        """The week's clawback schedule for one council; nothing is sent to anyone."""
        from clawback.run import compute_schedule as compute

        week = c.week_for_this_run(DAY_OFFSET)
        return c.jsonable(compute(c.db_url(), week, c.out_dir() / "clawback" / week, council=council))

    @task
    def approve(computed: list[dict]) -> dict:
        """Issue the provider instructions — only with approve=true and a named approver."""
        from clawback.run import approve as approve_fn

        params = get_current_context()["params"]
        week = c.week_for_this_run(DAY_OFFSET)
        if not params.get("approve"):
            raise AirflowSkipException(
                f"clawback schedule for {week} computed for {len(list(computed))} council(s) and waiting for approval; "
                "nothing was sent. To issue the instructions trigger clawback_weekly for the same day with "
                "approve=true and approved_by=<your name>."
            )
        approved_by = (params.get("approved_by") or "").strip()
        if not approved_by:
            raise AirflowFailException("approve=true needs approved_by (the person approving); nothing was sent")
        return c.jsonable(approve_fn(c.db_url(), week, c.out_dir() / "clawback" / week, approved_by=approved_by))

    computed = compute_schedule.expand(council=councils_due())
    approve(computed)


clawback_weekly()
