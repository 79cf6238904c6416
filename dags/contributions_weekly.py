"""contributions_weekly — check each client's contributions for the week on the council's weekday.

Runs at 07:30 London every day (after clawback_weekly) for the councils whose weekly day
(``clawback_weekday`` in councils.yaml) it is: compares the contributions paid onto each card with
the assessed weekly amount, raises shortfalls as exceptions and hands "contributions stopped" to
screening. Idempotent: re-running a week changes nothing.

Params: ``day`` (empty = the run's logical date, London), ``week`` (empty = ISO week of ``day``),
``council`` (empty = those due on ``day``), ``db_url``, ``out_dir``.
"""

from __future__ import annotations

import datetime as dt

import _common as c
from airflow.sdk import CronTriggerTimetable, dag, task

DAY_OFFSET = 0


@dag(
    dag_id="contributions_weekly",
    schedule=CronTriggerTimetable("30 7 * * *", timezone="Europe/London"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=c.LONDON),
    catchup=False,
    max_active_runs=1,
    default_args=c.default_args(),
    params={
        **c.weekly_params("Council (empty = those whose weekly day it is)"),
    },
    tags=["careledger", "clawback"],
)
def contributions_weekly():
    @task
    def councils_due() -> list[str]:
        return c.councils_for_this_run(DAY_OFFSET)

    @task(map_index_template="{{ council }}")
    def check_contributions(council: str) -> dict:
        from clawback.contributions import run_contributions

        week = c.week_for_this_run(DAY_OFFSET)
        return c.jsonable(run_contributions(c.db_url(), week, council=council, as_of=c.run_day(DAY_OFFSET)))

    check_contributions.expand(council=councils_due())


contributions_weekly()
