"""card_feeds_daily — load a London day's drop folder into the ledger, then screen the day.

At 02:00 London on D+1 the folder for day D (``<drops root>/YYYYMMDD/``) is loaded: the council's
extract first (it says whose cards these are), then each provider file in its own mapped task — a
bad file fails only its own task and the rest of the day still loads. The new items are screened
and, per provider whose files for the day are in, an Asset is marked; the reconciliation DAG runs
when all three are marked (or at its cut-off). Every step is idempotent: files are registered by
SHA-256, items by their keys, so clearing and re-running any task or the whole day changes nothing.

Params: ``day`` (empty = the day before the run's logical date, London), ``drops_root`` (empty =
$CARELEDGER_DROPS_ROOT, else ``drops/``), ``db_url``, ``out_dir``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import _common as c
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

DAY_OFFSET = 1  # the 02:00 run on D+1 loads day D


def _validation_root() -> Path | None:
    """Where GX results and Data Docs go (one folder per ingest run), or None with Param validate=false."""
    return c.out_dir() / "validation" if get_current_context()["params"].get("validate", True) else None


@task
def locate_drop() -> str:
    """The day's drop folder; fails (and e-mails finance) if it has not arrived."""
    day = c.run_day(DAY_OFFSET)
    root = Path(get_current_context()["params"].get("drops_root") or os.environ.get("CARELEDGER_DROPS_ROOT", "drops"))
    for name in (day.strftime("%Y%m%d"), day.isoformat()):
        if (root / name).is_dir():
            return str((root / name).resolve())
    # A plain failure (not AirflowFailException): the retry gives a late folder a second chance.
    raise AirflowException(f"no drop folder for {day} under {root} (looked for {day:%Y%m%d}/ and {day}/)")


@task
def load_council_extract(drop_dir: str) -> dict:
    """The council's full extract (cardholders, payees, ...) before any provider file."""
    from feeds.ingest import ingest_drop

    day = c.run_day(DAY_OFFSET)
    summary = ingest_drop(
        c.db_url(), Path(drop_dir), run_id=f"airflow-{day}-council", only_files=[], validation_root=_validation_root(),
    )
    refused = [f for f in summary.files if f.status == "refused"]
    if refused:
        raise AirflowFailException(
            f"the council extract in {drop_dir} was refused: {refused[0].message}. No provider file of {day} "
            "was loaded; the stored extract stands. Re-run this day when a corrected extract arrives."
        )
    files = [{"file": f.file_name, "status": f.status, "message": f.message} for f in summary.files]
    return {"day": str(day), "files": files or "no council extract in this drop; the stored one stands"}


@task
def list_provider_files(drop_dir: str) -> list[str]:
    """File names only (small, through XCom), in the order the ingest loads them."""
    from feeds.readers import provider_files

    return [p.name for p in provider_files(drop_dir)]


@task(map_index_template="{{ file_name }}")
def ingest_file(file_name: str, drop_dir: str) -> dict:
    """One provider file, one database transaction. A refused file fails this task only."""
    from db.engine import get_engine
    from feeds.ingest import ingest_drop, sha256_of
    from records.feed_register import registered_file

    day = c.run_day(DAY_OFFSET)
    db = c.db_url()
    summary = ingest_drop(
        db, Path(drop_dir), run_id=f"airflow-{day}-{file_name}", only_files=[file_name], reference=False,
        validation_root=_validation_root(), archive_root=c.out_dir() / "archive",
    )
    mine = [f for f in summary.files if f.file_name == file_name]
    assert len(mine) == 1, f"ingest_drop reported {len(mine)} results for {file_name}"
    fs = mine[0]
    # The register is the truth: a file refused on an earlier try shows as "skipped" now, and
    # must keep failing until a corrected copy (different content) arrives.
    with get_engine(db).connect() as conn:
        registered = registered_file(conn, sha256_of(Path(drop_dir) / file_name))
    if registered is not None and registered.status == "refused":
        raise AirflowFailException(
            f"{file_name} was refused: {registered.message}. Nothing from it was stored; the day's other files load in "
            "their own tasks. It will load when a corrected copy arrives (drop it in a later folder)."
        )
    return {
        "file": fs.file_name, "status": fs.status, "posted": fs.rows_posted, "pending": fs.rows_pending,
        "quarantined": fs.rows_quarantined, "incidents": fs.incidents, "message": fs.message,
    }


@task(trigger_rule="all_done")
def screen_day() -> dict:
    """Screening rules over the day (whatever loaded): alerts and safeguarding cases."""
    from screening.run import screen_days

    day = c.run_day(DAY_OFFSET)
    return c.jsonable(screen_days(c.db_url(), day, day))


@task(trigger_rule="all_done")
def mark_provider_feed(provider: str) -> dict:
    """Mark the provider's Asset if its transactions for the day are in and nothing of it is refused."""
    from db.engine import get_engine
    from records.feed_register import provider_feed_day

    day = c.run_day(DAY_OFFSET)
    with get_engine(c.db_url()).connect() as conn:
        feed = provider_feed_day(conn, provider, day)
    if not feed.complete:
        raise AirflowSkipException(
            f"provider {provider}'s feed for {day} is not complete (loaded: {sorted(feed.loaded) or 'nothing'}, "
            f"refused: {sorted(feed.refused) or 'nothing'}); reconciliation will run at its cut-off and raise it"
        )
    get_current_context()["outlet_events"][c.FEED_ASSETS[provider]].extra = {"day": day.isoformat()}
    return {"provider": provider, "day": day.isoformat(), "kinds": sorted(feed.loaded)}


@task(trigger_rule="none_failed")
def day_complete() -> str:
    """The run's verdict: fails (upstream_failed) if any file or the screening failed, so the
    day shows red in the UI even though everything that could load did."""
    return f"{c.run_day(DAY_OFFSET)} loaded and screened"


@dag(
    dag_id="card_feeds_daily",
    schedule=CronTriggerTimetable("0 2 * * *", timezone="Europe/London"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=c.LONDON),
    catchup=False,
    max_active_runs=2,
    default_args=c.default_args(),
    params={
        **c.common_params("The day whose drop folder to load; empty = yesterday relative to the run"),
        "drops_root": Param(
            None, type=["null", "string"], title="Drops root",
            description="Folder holding one YYYYMMDD folder per day; empty = $CARELEDGER_DROPS_ROOT, else drops/",
        ),
        "validate": Param(True, type="boolean", title="Run the GX data-quality checks and write Data Docs"),
    },
    tags=["careledger", "feeds"],
)
def card_feeds_daily():
    drop = locate_drop()
    council = load_council_extract(drop)
    files = list_provider_files(drop)
    council >> files
    ingested = ingest_file.partial(drop_dir=drop).expand(file_name=files)
    screened = screen_day()
    ingested >> screened
    done = day_complete()
    [ingested, screened] >> done
    for provider in c.PROVIDERS:
        mark = mark_provider_feed.override(task_id=f"mark_feed_{provider}", outlets=[c.FEED_ASSETS[provider]])(provider)
        screened >> mark >> done


card_feeds_daily()
