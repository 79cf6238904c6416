"""Alerts by e-mail (SMTP) to the client's safeguarding lead, with the least personal data that does the job.

Why so little data: the e-mail leaves the system. It names the client by id (never a name), shows only
the last 4 digits of any account (card or payee), and no payee names; the lead opens the case in
careledger for the rest. Each alert is sent once: it is marked sent, with its Message-ID, in the same
transaction that records the ``alert_sent`` case event, right after the SMTP server accepts it.

Settings come from the environment (CARELEDGER_SMTP_HOST, _PORT, _FROM, _STARTTLS, _USER, _PASSWORD), or
under Airflow from the connection ``smtp_default`` (host, port, login, password; extras ``from_email``,
``disable_tls``). Airflow is imported only inside that function, so the CLI and tests never need it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, text

from db.engine import get_engine
from screening.cases import append_case_event
from screening.rules.text import gbp, last4
from screening.tables import alerts, safeguarding_cases, screening_findings

LONDON = ZoneInfo("Europe/London")
EVIDENCE_ROWS_MAX = 25  # rows in the e-mail's evidence table; the case holds all of them
ALERTS_PER_RUN_MAX = 10_000  # bound on one sending run


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    from_addr: str = "careledger@localhost"
    starttls: bool = False
    user: str | None = None
    password: str | None = None


def smtp_settings_from_env(env: dict[str, str] | None = None) -> SmtpSettings | None:
    """SmtpSettings from CARELEDGER_SMTP_* variables, or None when CARELEDGER_SMTP_HOST is unset."""
    env = dict(os.environ if env is None else env)
    host = env.get("CARELEDGER_SMTP_HOST")
    if not host:
        return None
    return SmtpSettings(
        host=host,
        port=int(env.get("CARELEDGER_SMTP_PORT", "25")),
        from_addr=env.get("CARELEDGER_SMTP_FROM", "careledger@localhost"),
        starttls=env.get("CARELEDGER_SMTP_STARTTLS", "false").lower() in ("1", "true", "yes", "y"),
        user=env.get("CARELEDGER_SMTP_USER") or None,
        password=env.get("CARELEDGER_SMTP_PASSWORD") or None,
    )


def smtp_settings_from_airflow(conn_id: str = "smtp_default") -> SmtpSettings:
    """SmtpSettings from an Airflow connection (only when running under Airflow; imported lazily)."""
    from airflow.sdk import BaseHook  # lazy: the CLI and tests must not need Airflow

    c = BaseHook.get_connection(conn_id)
    extra = c.extra_dejson or {}
    return SmtpSettings(
        host=c.host or "localhost",
        port=int(c.port or 25),
        from_addr=extra.get("from_email") or c.login or "careledger@localhost",
        starttls=not bool(extra.get("disable_tls", False)),
        user=c.login or None,
        password=c.password or None,
    )


def load_smtp_settings() -> SmtpSettings | None:
    """Environment first; under Airflow (AIRFLOW_CTX_DAG_ID set) the ``smtp_default`` connection; else None."""
    settings = smtp_settings_from_env()
    if settings is not None:
        return settings
    if os.environ.get("AIRFLOW_CTX_DAG_ID"):
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return smtp_settings_from_airflow()
        except AirflowNotFoundException:  # no smtp_default connection defined: outbox only
            return None
    return None


# --- composing ------------------------------------------------------------------------------------
def _evidence_rows(conn: Connection, evidence: list[str]) -> list[dict[str, Any]]:
    """The evidence items as the e-mail shows them: no payee names, last 4 digits of accounts only."""
    rows = []
    for ev in evidence[:EVIDENCE_ROWS_MAX]:
        provider, _, txn_id = ev.partition(":")
        # A settlement that completes an authorisation is shown at the authorisation's time (when the card
        # was used), as the rules see it.
        r = conn.execute(
            text(
                "SELECT COALESCE(a.occurred_at_utc, t.occurred_at_utc) AS occurred_at_utc, t.kind, t.status,"
                " t.amount_pence, t.merchant_name, t.mcc, t.merchant_country, t.payee_account_number"
                " FROM transactions t LEFT JOIN transactions a ON a.provider = t.provider"
                " AND a.provider_txn_id = t.related_txn_id AND a.status = 'pending' AND t.status = 'settled'"
                " WHERE t.provider = :p AND t.provider_txn_id = :t"
            ),
            {"p": provider, "t": txn_id},
        ).mappings().first()
        if r is None:
            rows.append({"id": ev, "when": "", "what": "(not in the ledger)", "amount": "", "where": ""})
            continue
        at = r["occurred_at_utc"]
        if isinstance(at, str):
            at = dt.datetime.fromisoformat(at[:26])
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        if r["payee_account_number"]:
            where = f"payee account ending {last4(r['payee_account_number'])}"
        elif r["merchant_name"]:
            where = f"{r['merchant_name']} (MCC {r['mcc'] or '-'}{', ' + r['merchant_country'] if r['merchant_country'] else ''})"
        else:
            where = ""
        rows.append({
            "id": ev, "when": at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M"), "what": f"{r['kind']} ({r['status']})",
            "amount": gbp(r["amount_pence"]), "where": where,
        })
    return sorted(rows, key=lambda r: (r["when"], r["id"]))


def compose_alert(alert: dict, case: dict, finding: dict, evidence_rows: list[dict], from_addr: str) -> EmailMessage:
    """The alert e-mail (pure): explanation, rule, policy, a short evidence table, how to respond."""
    msg = EmailMessage()
    # Short enough (< 78 characters for usual ids) that no mail system folds it.
    msg["Subject"] = f"[careledger] {alert['severity']}: {alert['rule']}, client {alert['client_id']}, case {case['case_id']}"
    msg["From"] = from_addr
    msg["To"] = alert["recipient"]
    msg["Message-ID"] = make_msgid(domain="careledger.local")
    card = f"provider {case['provider']}, card account ending {last4(case['account_id'])}" if case.get("account_id") else "unknown card"
    widths = {k: max([len(k)] + [len(str(r[k])) for r in evidence_rows]) for k in ("id", "when", "what", "amount", "where")}
    header = "  ".join(k.ljust(widths[k]) for k in widths)
    table = "\n".join(["  " + header, "  " + "-" * len(header)] + ["  " + "  ".join(str(r[k]).ljust(widths[k]) for k in widths) for r in evidence_rows])
    total = len(case["evidence"].split()) if case.get("evidence") else len(evidence_rows)
    more = f"\n  ... and {total - len(evidence_rows)} more in the case" if total > len(evidence_rows) else ""
    lines = [
        f"Safeguarding alert - case {case['case_id']} ({case['status']})",
        "",
        f"Council:   {alert['council']}",
        f"Client:    {alert['client_id']}  ({card})",
        f"Rule:      {alert['rule']}   Severity: {alert['severity']}",
        f"About:     {finding['london_date']}" + (f" (detected {finding['detected_on']})" if finding.get("detected_on") else ""),
        "",
        "What was found:",
        f"  {finding['explanation']}",
        "",
        f"Policy:    {finding.get('policy') or '-'}",
        f"Override:  {finding.get('override') or 'none'}",
        "",
        "Evidence:",
        table + more,
        "",
        "A flag is a question for review, not a verdict. Record what you decide in careledger:",
        f"  careledger cases ack {case['case_id']} --by YOU",
        f"  careledger cases close {case['case_id']} --outcome confirmed|false_positive|no_action_needed --note '...' --by YOU",
    ]
    msg.set_content("\n".join(lines) + "\n")
    return msg


# --- sending --------------------------------------------------------------------------------------
def _smtp_client(s: SmtpSettings) -> smtplib.SMTP:
    client = smtplib.SMTP(s.host, s.port, timeout=30)
    client.ehlo()
    if s.starttls:
        client.starttls()
        client.ehlo()
    if s.user:
        client.login(s.user, s.password or "")
    return client


def send_pending_alerts(db_url: str | None, smtp: SmtpSettings | None = None, outbox_dir: Path | None = None) -> dict[str, Any]:
    """Send every pending alert once; write each message to ``outbox_dir`` (.eml) when given.

    With no SMTP settings found (argument, environment or Airflow) and an outbox folder given, messages are
    only written there (``sent_via = outbox``); with neither, nothing is sent and the reason is raised.
    """
    smtp = smtp or load_smtp_settings()
    if smtp is None and outbox_dir is None:
        raise RuntimeError("no SMTP settings: set CARELEDGER_SMTP_HOST (and _PORT, _FROM ...) or give an outbox folder")
    if outbox_dir is not None:
        outbox_dir = Path(outbox_dir)
        outbox_dir.mkdir(parents=True, exist_ok=True)
    engine = get_engine(db_url)
    with engine.connect() as conn:
        pending = [dict(r) for r in conn.execute(
            select(alerts).where(alerts.c.status == "pending").order_by(alerts.c.alert_id).limit(ALERTS_PER_RUN_MAX)
        ).mappings()]
    summary: dict[str, Any] = {"pending": len(pending), "sent": 0, "written": 0, "no_recipient": 0, "failed": []}
    if not pending:
        return summary
    client = _smtp_client(smtp) if smtp is not None else None
    try:
        for alert in pending:
            if not alert["recipient"]:
                summary["no_recipient"] += 1
                continue
            with engine.begin() as conn:
                _send_one(conn, alert, smtp, client, outbox_dir, summary)
    finally:
        if client is not None:
            with contextlib.suppress(smtplib.SMTPException):
                client.quit()
    return summary


def _send_one(conn: Connection, alert: dict, smtp: SmtpSettings | None, client: smtplib.SMTP | None,
              outbox_dir: Path | None, summary: dict[str, Any]) -> None:
    """Claim one alert, send and/or write it, and mark it sent with its case event, in ``conn``'s
    transaction. The row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE locks the whole database) makes a
    second sender running at the same time wait, then see "sent"."""
    current = conn.execute(select(alerts.c.status).where(alerts.c.alert_id == alert["alert_id"]).with_for_update()).scalar_one()
    if current != "pending":  # sent by another run meanwhile
        return
    case = dict(conn.execute(select(safeguarding_cases).where(safeguarding_cases.c.case_id == alert["case_id"])).mappings().one())
    finding = dict(conn.execute(select(screening_findings).where(screening_findings.c.finding_id == alert["finding_id"])).mappings().one())
    rows = _evidence_rows(conn, case["evidence"].split())
    msg = compose_alert(alert, case, finding, rows, smtp.from_addr if smtp else "careledger@localhost")
    via = "outbox"
    if client is not None:
        try:
            client.send_message(msg)
        except smtplib.SMTPException as exc:
            summary["failed"].append({"alert_id": alert["alert_id"], "error": str(exc)})
            return
        via = "smtp"
        summary["sent"] += 1
    if outbox_dir is not None:
        (outbox_dir / f"alert-{alert['alert_id']:06d}-case-{case['case_id']}.eml").write_bytes(msg.as_bytes())
        summary["written"] += 1
    conn.execute(
        alerts.update().where(alerts.c.alert_id == alert["alert_id"]).values(
            status="sent", sent_at=dt.datetime.now(dt.UTC), sent_via=via, message_id=msg["Message-ID"], subject=msg["Subject"],
        )
    )
    append_case_event(conn, case["case_id"], "alert_sent", note=f"e-mailed {alert['recipient']} via {via}", finding_id=alert["finding_id"])
