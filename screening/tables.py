"""Tables of the screening area, on the shared ledger metadata (documented in docs/schema.md).

Why four tables: a finding is a fact the rules found (kept for ever, even when suppressed); a case is the
working record a safeguarding lead owns (one open case per client and rule); an alert is one e-mail about a
case; ``case_events`` is the append-only history of who changed a case and when (the audit trail the
Care and Support (Direct Payments) Regulations' reviews rely on). Suppressions are recorded decisions too.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text

from db.metadata import TZ, metadata

safeguarding_cases = Table(
    "safeguarding_cases",
    metadata,
    Column("case_id", Integer, primary_key=True, autoincrement=True, comment="case number quoted in alerts"),
    Column("council", String(100), nullable=False, comment="the client's council"),
    Column("client_id", String(100), nullable=False, comment="client id (never a name)"),
    Column("rule", String(40), nullable=False, comment="the rule that opened the case, e.g. drain_after_load"),
    Column("status", String(20), nullable=False, comment="open, acknowledged, referred or closed; open/acknowledged/referred = an open safeguarding case"),
    Column("severity", String(10), nullable=False, comment="low, medium, high or critical (highest of its findings)"),
    Column("opened_on", Date, nullable=False, comment="London date of the first finding"),
    Column("last_finding_on", Date, nullable=False, comment="London date of the latest finding merged into the case (cooldown runs from here)"),
    Column("findings", Integer, nullable=False, comment="number of findings merged into the case"),
    Column("evidence", Text, nullable=False, comment="every evidence transaction id, 'provider:provider_txn_id' separated by spaces"),
    Column("explanation", Text, nullable=False, comment="the latest finding's plain-English explanation"),
    Column("amount_pence", BigInteger, comment="money concerned, summed over the case's findings"),
    Column("provider", String(1), comment="card provider"),
    Column("account_id", String(100), comment="provider card account id"),
    Column("outcome", String(20), comment="on closing: confirmed, false_positive or no_action_needed"),
    Column("note", Text, comment="the lead's latest note"),
    Column("closed_on", Date, comment="London date the case was closed"),
    Column("created_at", TZ, nullable=False, comment="when the case row was created (UTC)"),
    Column("updated_at", TZ, nullable=False, comment="when the case last changed (UTC)"),
    Column("updated_by", String(100), nullable=False, comment="who last changed the case ('screening' for the system)"),
    Column("assigned_to", String(100), comment="the workspace user (username) the case is assigned to; null = the team's"),
)
Index("ix_safeguarding_cases_client_rule_status", safeguarding_cases.c.client_id, safeguarding_cases.c.rule, safeguarding_cases.c.status)
Index("ix_safeguarding_cases_status", safeguarding_cases.c.status, safeguarding_cases.c.council)

screening_findings = Table(
    "screening_findings",
    metadata,
    Column("finding_id", Integer, primary_key=True, autoincrement=True, comment="surrogate id"),
    Column("finding_key", String(64), nullable=False, unique=True, comment="sha256 of rule + client + date + evidence: recording the same finding twice adds nothing"),
    Column("rule", String(40), nullable=False, comment="rule name (simulator ground-truth names)"),
    Column("council", String(100), nullable=False, comment="the client's council"),
    Column("client_id", String(100), nullable=False, comment="client id"),
    Column("london_date", Date, nullable=False, comment="the day the pattern is about (its first day)"),
    Column("detected_on", Date, comment="the day the pattern first crossed its threshold"),
    Column("run_day", Date, nullable=False, comment="the screening run's day that recorded it"),
    Column("severity", String(10), nullable=False, comment="low, medium, high or critical"),
    Column("explanation", Text, nullable=False, comment="plain English with the numbers; no names, last 4 digits of accounts only"),
    Column("evidence", Text, nullable=False, comment="evidence transaction ids, 'provider:provider_txn_id' separated by spaces"),
    Column("amount_pence", BigInteger, comment="the money concerned"),
    Column("provider", String(1), comment="card provider"),
    Column("account_id", String(100), comment="provider card account id"),
    Column("policy", Text, comment="which policy / thresholds applied"),
    Column("override", Text, comment="which client-level override applied, if any"),
    Column("details_json", Text, comment="rule-specific numbers as JSON"),
    Column("case_id", Integer, ForeignKey("safeguarding_cases.case_id"), comment="the case it opened or was merged into (null when suppressed)"),
    Column("suppressed_by", Integer, ForeignKey("suppressions.suppression_id"), comment="the suppression that silenced it, if any"),
    Column("created_at", TZ, nullable=False, comment="when it was recorded (UTC)"),
)
Index("ix_screening_findings_rule_date", screening_findings.c.rule, screening_findings.c.london_date)
Index("ix_screening_findings_client", screening_findings.c.client_id, screening_findings.c.rule)
Index("ix_screening_findings_case", screening_findings.c.case_id)

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", Integer, primary_key=True, autoincrement=True, comment="surrogate id"),
    Column("case_id", Integer, ForeignKey("safeguarding_cases.case_id"), nullable=False, comment="the case the alert is about"),
    Column("finding_id", Integer, ForeignKey("screening_findings.finding_id"), nullable=False, comment="the finding that raised it"),
    Column("council", String(100), nullable=False, comment="the client's council"),
    Column("client_id", String(100), nullable=False, comment="client id"),
    Column("rule", String(40), nullable=False, comment="rule name"),
    Column("severity", String(10), nullable=False, comment="low, medium, high or critical"),
    Column("recipient", Text, nullable=False, comment="the client's safeguarding lead, else the council's safeguarding_mailbox"),
    Column("status", String(20), nullable=False, comment="pending (to send) or sent"),
    Column("raised_on", Date, nullable=False, comment="the screening run's day"),
    Column("created_at", TZ, nullable=False, comment="when the alert was raised (UTC)"),
    Column("sent_at", TZ, comment="when the e-mail was accepted by the SMTP server (UTC)"),
    Column("sent_via", String(20), comment="smtp or outbox (written to the outbox folder only)"),
    Column("message_id", Text, comment="the e-mail's Message-ID"),
    Column("subject", Text, comment="the e-mail's subject"),
)
Index("ix_alerts_status", alerts.c.status)
Index("ix_alerts_case", alerts.c.case_id)

case_events = Table(
    "case_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True, comment="order of events"),
    Column("case_id", Integer, ForeignKey("safeguarding_cases.case_id"), nullable=False, comment="the case"),
    Column("at", TZ, nullable=False, comment="when (UTC)"),
    Column("actor", String(100), nullable=False, comment="who ('screening' for the system)"),
    Column("action", String(30), nullable=False, comment="opened, finding_added, alert_raised, alert_sent, acknowledged, assigned, noted, referred, suppressed, closed"),
    Column("from_status", String(20), comment="status before"),
    Column("to_status", String(20), comment="status after"),
    Column("outcome", String(20), comment="on closing: confirmed, false_positive or no_action_needed"),
    Column("note", Text, comment="what was decided or found"),
    Column("finding_id", Integer, comment="the finding concerned, for opened / finding_added"),
)
Index("ix_case_events_case", case_events.c.case_id, case_events.c.event_id)
# The database refuses UPDATE and DELETE on these (db/append_only.py, migration 0015): the history of a
# case is evidence; a correction is a further event.
APPEND_ONLY = {"case_events": "the case history is append-only; record a further event instead"}

suppressions = Table(
    "suppressions",
    metadata,
    Column("suppression_id", Integer, primary_key=True, autoincrement=True, comment="surrogate id"),
    Column("client_id", String(100), nullable=False, comment="client id"),
    Column("rule", String(40), nullable=False, comment="rule silenced for this client"),
    Column("until_date", Date, nullable=False, comment="last London day the suppression applies (inclusive)"),
    Column("reason", Text, nullable=False, comment="why (e.g. 'cash agreed in review 2026-03-01')"),
    Column("created_by", String(100), nullable=False, comment="who recorded it"),
    Column("created_at", TZ, nullable=False, comment="when (UTC)"),
    Column("active", Boolean, nullable=False, default=True, comment="false once withdrawn"),
    Column("withdrawn_by", String(100), comment="who withdrew it (null while active)"),
    Column("withdrawn_at", TZ, comment="when it was withdrawn (UTC)"),
    Column("withdrawn_reason", Text, comment="why it was withdrawn"),
)
Index("ix_suppressions_client_rule", suppressions.c.client_id, suppressions.c.rule, suppressions.c.until_date)
