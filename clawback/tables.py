"""Tables of the clawback area, on the shared ledger metadata (documented in docs/schema.md).

Why stored: every figure finance approves must be reproducible. A week's schedule is kept line by
line (``clawback_lines``) under its run (``clawback_runs``); approving it issues instructions
(``clawback_instructions``) exactly once; each client's weekly contribution result is kept in
``contribution_weeks``. These are working records (a run moves from computed to approved, an
instruction from issued to matched), not posted history: the money itself moves only when the
provider's unload arrives in a feed and is posted to the ledger.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, String, Table, Text

from db.metadata import TZ, metadata

clawback_runs = Table(
    "clawback_runs",
    metadata,
    Column("run_id", String(160), primary_key=True, comment="'{council}:{iso week}', e.g. 'Testshire:2026-W10'"),
    Column("council", String(100), nullable=False, comment="the council whose cards the schedule covers"),
    Column("iso_week", String(8), nullable=False, comment="ISO week of the run, e.g. 2026-W10"),
    Column("run_date", Date, nullable=False, comment="the council's clawback day in that week (councils.yaml clawback_weekday)"),
    Column("as_of_date", Date, nullable=False, comment="balances, holds and parts are read at the end of this London day (run_date - 1)"),
    Column("status", String(20), nullable=False, comment="computed (a draft for finance) or approved (instructions issued; frozen)"),
    Column("content_hash", String(64), nullable=False, comment="sha256 of the schedule lines: a re-run with the same inputs gives the same hash and writes nothing"),
    Column("lines", Integer, nullable=False, comment="cards in the schedule"),
    Column("lines_to_recover", Integer, nullable=False, comment="cards with an amount to recover"),
    Column("lines_excluded", Integer, nullable=False, comment="cards excluded (reason on each line)"),
    Column("total_balance_pence", BigInteger, nullable=False, comment="sum of card balances in the schedule"),
    Column("total_to_recover_pence", BigInteger, nullable=False, comment="sum of amounts to recover (council-funded only)"),
    Column("total_client_excess_pence", BigInteger, nullable=False, comment="client-funded money above the reserve: to refund or keep, never recovered"),
    Column("loads_week_pence", BigInteger, nullable=False, comment="council loads posted in the 7 days ending as_of_date (ledger funding account)"),
    Column("loads_to_date_pence", BigInteger, nullable=False, comment="council loads posted up to the end of as_of_date"),
    Column("recovered_week_pence", BigInteger, nullable=False, comment="unloads posted in the 7 days ending as_of_date (ledger recovered account)"),
    Column("recovered_to_date_pence", BigInteger, nullable=False, comment="unloads posted up to the end of as_of_date"),
    Column("computed_at", TZ, nullable=False, comment="when the schedule content last changed"),
    Column("approved_at", TZ, comment="when finance approved it (null while computed)"),
    Column("approved_by", String(100), comment="who approved it"),
)
Index("ix_clawback_runs_week", clawback_runs.c.iso_week)

clawback_lines = Table(
    "clawback_lines",
    metadata,
    Column("run_id", String(160), primary_key=True, comment="the run (clawback_runs.run_id)"),
    Column("provider", String(1), primary_key=True, comment="card provider A, B or C"),
    Column("account_id", String(100), primary_key=True, comment="provider account number / card token / AccountId (never a PAN)"),
    Column("council", String(100), nullable=False, comment="the council whose card it is"),
    Column("iso_week", String(8), nullable=False, comment="ISO week of the run"),
    Column("client_id", String(100), nullable=False, comment="client id from the cardholder register (never a name)"),
    Column("balance_pence", BigInteger, nullable=False, comment="ledger balance of the card at as_of_date (council + client parts)"),
    Column("council_part_pence", BigInteger, nullable=False, comment="council-funded part (ledger card:*:council)"),
    Column("client_part_pence", BigInteger, nullable=False, comment="client-funded part (ledger card:*:client)"),
    Column("contingency_weeks", Integer, nullable=False, comment="client's own contingency weeks, else the council default (0 for a closed card or a deceased client)"),
    Column("contingency_pence", BigInteger, nullable=False, comment="contingency_weeks x weekly_budget"),
    Column("commitments_pence", BigInteger, nullable=False, comment="commitments due from run_date within the contingency window"),
    Column("holds_pence", BigInteger, nullable=False, comment="pending card authorisations still holding funds at as_of_date"),
    Column("reserve_pence", BigInteger, nullable=False, comment="contingency + commitments + holds: what stays on the card"),
    Column("surplus_pence", BigInteger, nullable=False, comment="max(0, balance - reserve)"),
    Column("council_surplus_pence", BigInteger, nullable=False, comment="council-funded part of the surplus (recoverable before exclusions and the minimum)"),
    Column("client_excess_pence", BigInteger, nullable=False, comment="client-funded part of the surplus: reported, to refund or keep, never recovered"),
    Column("amount_to_recover_pence", BigInteger, nullable=False, comment="what the instruction will unload (0 when excluded or below the minimum)"),
    Column("outcome", String(30), nullable=False, comment="recover, recover_all (closed/deceased), excluded, below_minimum, nothing_to_recover"),
    Column("reason", Text, comment="why the line is excluded, below the minimum or recovers the whole council share"),
)
Index("ix_clawback_lines_client", clawback_lines.c.client_id)

clawback_instructions = Table(
    "clawback_instructions",
    metadata,
    Column("instruction_id", String(200), primary_key=True, comment="'{run_id}:{provider}:{account_id}': one per card per approved week"),
    Column("run_id", String(160), nullable=False, comment="the approved run"),
    Column("council", String(100), nullable=False, comment="the council the money returns to"),
    Column("iso_week", String(8), nullable=False, comment="ISO week of the approved run"),
    Column("client_id", String(100), nullable=False, comment="client id (never a name)"),
    Column("provider", String(1), nullable=False, comment="card provider A, B or C: decides the instruction file format"),
    Column("account_id", String(100), nullable=False, comment="card account to unload (never a PAN)"),
    Column("amount_pence", BigInteger, nullable=False, comment="amount to unload, positive pence"),
    Column("reference", String(40), nullable=False, comment="reference on the instruction, expected back on the unload where the feed carries one"),
    Column("file_name", Text, nullable=False, comment="instruction file it was written to"),
    Column("issued_on", Date, nullable=False, comment="the run's clawback day: age for the unmatched check counts from here"),
    Column("approved_by", String(100), nullable=False, comment="who approved the schedule that issued it"),
    Column("approved_at", TZ, nullable=False, comment="when it was approved (UTC)"),
    Column("status", String(20), nullable=False, comment="issued (waiting for the unload in a feed) or matched"),
    Column("matched_provider_txn_id", String(200), comment="the feed's unload item that carried it out"),
    Column("matched_on", Date, comment="London date of the matched unload"),
)
Index("ix_clawback_instructions_card", clawback_instructions.c.provider, clawback_instructions.c.account_id)
Index("ix_clawback_instructions_status", clawback_instructions.c.status)

contribution_weeks = Table(
    "contribution_weeks",
    metadata,
    Column("client_id", String(100), primary_key=True, comment="client id (never a name)"),
    Column("iso_week", String(8), primary_key=True, comment="ISO week, Monday to Sunday (London days)"),
    Column("council", String(100), nullable=False, comment="the client's council"),
    Column("week_start", Date, nullable=False, comment="Monday of the week"),
    Column("contribution_model", String(10), nullable=False, comment="net (paid onto the card: verified) or gross (invoiced: report only)"),
    Column("expected_pence", BigInteger, nullable=False, comment="weekly_amount pro-rata by days effective (and card open) in the week, rounded down to whole pence"),
    Column("received_pence", BigInteger, nullable=False, comment="contributions received on the card in the week (settled money in matched to the client)"),
    Column("week_difference_pence", BigInteger, nullable=False, comment="received - expected for the week (negative = short)"),
    Column("arrears_pence", BigInteger, nullable=False, comment="cumulative expected - received since the contribution started, when positive (owed)"),
    Column("overpaid_pence", BigInteger, nullable=False, comment="cumulative received - expected, when positive (paid ahead or overpaid)"),
    Column("missed", Boolean, nullable=False, comment="nothing received against a positive expectation while not in credit"),
    Column("consecutive_missed_weeks", Integer, nullable=False, comment="missed weeks in a row ending with this week"),
    Column("first_missed_week_start", Date, comment="Monday of the first week of the current missed run"),
    Column("consecutive_short_weeks", Integer, nullable=False, comment="weeks in a row ending with this week where less than due arrived while in arrears"),
    Column("matched_txn_ids", Text, comment="'provider:txn id' of the items counted, with how each matched"),
    Column("computed_at", TZ, nullable=False, comment="when this row last changed"),
)
Index("ix_contribution_weeks_council_week", contribution_weeks.c.council, contribution_weeks.c.iso_week)
