"""reconciliation_nightly — reconcile a London day, raise exceptions, send alerts, write the report.

Runs as soon as all three providers' feeds for the day are in (the Assets card_feeds_daily marks)
or at the 06:00 London cut-off, whichever comes first (AssetOrTimeSchedule). The cut-off run is what
raises a missing feed: a provider whose files never came is an exception in the morning's report,
not a run that waits forever. If both fire for the same day the second run changes nothing (every
step is idempotent). A run not finished two hours after it was queued e-mails finance (an Airflow
3 Deadline Alert, interval from $CARELEDGER_NIGHTLY_DEADLINE_SECONDS; needs the scheduler and the
triggerer, see docs/airflow.md).

Params: ``day`` (empty = from the triggering feed events, else the day before the run's logical
date, London), ``db_url``, ``out_dir``.
"""

from __future__ import annotations

import datetime as dt
import os

import _common as c
from airflow.sdk import (
    AssetAll,
    AssetOrTimeSchedule,
    AsyncCallback,
    CronTriggerTimetable,
    DeadlineAlert,
    DeadlineReference,
    dag,
    task,
)

DAY_OFFSET = 1  # the 06:00 cut-off run on D+1 reconciles day D
DEADLINE = c.nightly_deadline()  # 2 hours unless $CARELEDGER_NIGHTLY_DEADLINE_SECONDS says otherwise

late_alert = DeadlineAlert(
    reference=DeadlineReference.DAGRUN_QUEUED_AT,
    interval=DEADLINE,
    # Run by the triggerer when the scheduler finds the deadline passed; the notifier gets a small
    # context (dag_run as the REST API dict: dag_run_id, queued_at, conf, ...; the deadline), not a task's.
    callback=AsyncCallback(
        "airflow.providers.smtp.notifications.smtp.SmtpNotifier",
        kwargs={
            "to": c.finance_email(),
            "from_email": os.environ.get("CARELEDGER_MAIL_FROM", "careledger@localhost"),
            "subject": f"[careledger] nightly reconciliation not finished within {c.duration_text(DEADLINE)} "
            "({{ dag_run.dag_run_id }})",
            "html_content": f"<p>reconciliation_nightly run {{{{ dag_run.dag_run_id }}}} was queued at "
            f"{{{{ dag_run.queued_at }}}} and has not finished {c.duration_text(DEADLINE)} later. The morning "
            "exception report may be missing or late; see docs/runbook.md.</p>",
        },
    ),
)


@dag(
    dag_id="reconciliation_nightly",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="Europe/London"),
        assets=AssetAll(*c.FEED_ASSETS.values()),
    ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=c.LONDON),
    catchup=False,
    max_active_runs=1,
    default_args=c.default_args(),
    params=c.common_params("The day to reconcile; empty = from the feed events or the day before the run"),
    deadline=late_alert,
    tags=["careledger", "reconciliation"],
)
def reconciliation_nightly():
    @task
    def reconcile() -> dict:
        """Ledger vs provider balances, load schedule, missing feeds → the exceptions register."""
        from reconciliation.run import reconcile_day

        day = c.run_day(DAY_OFFSET)
        return c.jsonable(reconcile_day(c.db_url(), day))

    @task
    def write_report() -> dict:
        """The exception report per council (HTML, XLSX, CSV) under out/reports/YYYY-MM-DD/."""
        from reports.exception_report import write_exception_report

        day = c.run_day(DAY_OFFSET)
        return c.jsonable(write_exception_report(c.db_url(), day, c.out_dir() / "reports" / day.isoformat()))

    @task
    def send_alerts() -> dict:
        """Alerts not yet sent, each once; a copy of each as .eml in out/outbox, and by SMTP when configured
        (CARELEDGER_SMTP_HOST, or the Airflow connection — screening.alerts.load_smtp_settings decides)."""
        from screening.alerts import send_pending_alerts

        return c.jsonable(send_pending_alerts(c.db_url(), outbox_dir=c.out_dir() / "outbox"))

    reconcile() >> write_report() >> send_alerts()


reconciliation_nightly()
