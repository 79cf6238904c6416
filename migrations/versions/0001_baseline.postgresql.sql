-- careledger baseline schema for PostgreSQL (migration 0001), frozen at revision 0014 (December 2026).
-- Exactly what the baseline then executed on a new database: create_all over every table declared in the
-- tables modules, then ledger/guards.py's triggers and functions.
-- Never edit it: a schema change is a new revision with explicit operations. Statements are run one by one,
-- verbatim, in this order (migrations/versions/0001_baseline.py splits the file at the '-- statement' lines).

-- statement 1
CREATE TABLE clawback_runs (
	run_id VARCHAR(160) NOT NULL, 
	council VARCHAR(100) NOT NULL, 
	iso_week VARCHAR(8) NOT NULL, 
	run_date DATE NOT NULL, 
	as_of_date DATE NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	lines INTEGER NOT NULL, 
	lines_to_recover INTEGER NOT NULL, 
	lines_excluded INTEGER NOT NULL, 
	total_balance_pence BIGINT NOT NULL, 
	total_to_recover_pence BIGINT NOT NULL, 
	total_client_excess_pence BIGINT NOT NULL, 
	loads_week_pence BIGINT NOT NULL, 
	loads_to_date_pence BIGINT NOT NULL, 
	recovered_week_pence BIGINT NOT NULL, 
	recovered_to_date_pence BIGINT NOT NULL, 
	computed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	approved_at TIMESTAMP WITH TIME ZONE, 
	approved_by VARCHAR(100), 
	PRIMARY KEY (run_id)
);

-- statement 2
CREATE INDEX ix_clawback_runs_week ON clawback_runs (iso_week);

-- statement 3
COMMENT ON COLUMN clawback_runs.run_id IS '''{council}:{iso week}'', e.g. ''Testshire:2026-W10''';

-- statement 4
COMMENT ON COLUMN clawback_runs.council IS 'the council whose cards the schedule covers';

-- statement 5
COMMENT ON COLUMN clawback_runs.iso_week IS 'ISO week of the run, e.g. 2026-W10';

-- statement 6
COMMENT ON COLUMN clawback_runs.run_date IS 'the council''s clawback day in that week (councils.yaml clawback_weekday)';

-- statement 7
COMMENT ON COLUMN clawback_runs.as_of_date IS 'balances, holds and parts are read at the end of this London day (run_date - 1)';

-- statement 8
COMMENT ON COLUMN clawback_runs.status IS 'computed (a draft for finance) or approved (instructions issued; frozen)';

-- statement 9
COMMENT ON COLUMN clawback_runs.content_hash IS 'sha256 of the schedule lines: a re-run with the same inputs gives the same hash and writes nothing';

-- statement 10
COMMENT ON COLUMN clawback_runs.lines IS 'cards in the schedule';

-- statement 11
COMMENT ON COLUMN clawback_runs.lines_to_recover IS 'cards with an amount to recover';

-- statement 12
COMMENT ON COLUMN clawback_runs.lines_excluded IS 'cards excluded (reason on each line)';

-- statement 13
COMMENT ON COLUMN clawback_runs.total_balance_pence IS 'sum of card balances in the schedule';

-- statement 14
COMMENT ON COLUMN clawback_runs.total_to_recover_pence IS 'sum of amounts to recover (council-funded only)';

-- statement 15
COMMENT ON COLUMN clawback_runs.total_client_excess_pence IS 'client-funded money above the reserve: to refund or keep, never recovered';

-- statement 16
COMMENT ON COLUMN clawback_runs.loads_week_pence IS 'council loads posted in the 7 days ending as_of_date (ledger funding account)';

-- statement 17
COMMENT ON COLUMN clawback_runs.loads_to_date_pence IS 'council loads posted up to the end of as_of_date';

-- statement 18
COMMENT ON COLUMN clawback_runs.recovered_week_pence IS 'unloads posted in the 7 days ending as_of_date (ledger recovered account)';

-- statement 19
COMMENT ON COLUMN clawback_runs.recovered_to_date_pence IS 'unloads posted up to the end of as_of_date';

-- statement 20
COMMENT ON COLUMN clawback_runs.computed_at IS 'when the schedule content last changed';

-- statement 21
COMMENT ON COLUMN clawback_runs.approved_at IS 'when finance approved it (null while computed)';

-- statement 22
COMMENT ON COLUMN clawback_runs.approved_by IS 'who approved it';

-- statement 23
CREATE TABLE clawback_lines (
	run_id VARCHAR(160) NOT NULL, 
	provider VARCHAR(1) NOT NULL, 
	account_id VARCHAR(100) NOT NULL, 
	council VARCHAR(100) NOT NULL, 
	iso_week VARCHAR(8) NOT NULL, 
	client_id VARCHAR(100) NOT NULL, 
	balance_pence BIGINT NOT NULL, 
	council_part_pence BIGINT NOT NULL, 
	client_part_pence BIGINT NOT NULL, 
	contingency_weeks INTEGER NOT NULL, 
	contingency_pence BIGINT NOT NULL, 
	commitments_pence BIGINT NOT NULL, 
	holds_pence BIGINT NOT NULL, 
	reserve_pence BIGINT NOT NULL, 
	surplus_pence BIGINT NOT NULL, 
	council_surplus_pence BIGINT NOT NULL, 
	client_excess_pence BIGINT NOT NULL, 
	amount_to_recover_pence BIGINT NOT NULL, 
	outcome VARCHAR(30) NOT NULL, 
	reason TEXT, 
	PRIMARY KEY (run_id, provider, account_id)
);

-- statement 24
CREATE INDEX ix_clawback_lines_client ON clawback_lines (client_id);

-- statement 25
COMMENT ON COLUMN clawback_lines.run_id IS 'the run (clawback_runs.run_id)';

-- statement 26
COMMENT ON COLUMN clawback_lines.provider IS 'card provider A, B or C';

-- statement 27
COMMENT ON COLUMN clawback_lines.account_id IS 'provider account number / card token / AccountId (never a PAN)';

-- statement 28
COMMENT ON COLUMN clawback_lines.council IS 'the council whose card it is';

-- statement 29
COMMENT ON COLUMN clawback_lines.iso_week IS 'ISO week of the run';

-- statement 30
COMMENT ON COLUMN clawback_lines.client_id IS 'client id from the cardholder register (never a name)';

-- statement 31
COMMENT ON COLUMN clawback_lines.balance_pence IS 'ledger balance of the card at as_of_date (council + client parts)';

-- statement 32
COMMENT ON COLUMN clawback_lines.council_part_pence IS 'council-funded part (ledger card:*:council)';

-- statement 33
COMMENT ON COLUMN clawback_lines.client_part_pence IS 'client-funded part (ledger card:*:client)';

-- statement 34
COMMENT ON COLUMN clawback_lines.contingency_weeks IS 'client''s own contingency weeks, else the council default (0 for a closed card or a deceased client)';

-- statement 35
COMMENT ON COLUMN clawback_lines.contingency_pence IS 'contingency_weeks x weekly_budget';

-- statement 36
COMMENT ON COLUMN clawback_lines.commitments_pence IS 'commitments due from run_date within the contingency window';

-- statement 37
COMMENT ON COLUMN clawback_lines.holds_pence IS 'pending card authorisations still holding funds at as_of_date';

-- statement 38
COMMENT ON COLUMN clawback_lines.reserve_pence IS 'contingency + commitments + holds: what stays on the card';

-- statement 39
COMMENT ON COLUMN clawback_lines.surplus_pence IS 'max(0, balance - reserve)';

-- statement 40
COMMENT ON COLUMN clawback_lines.council_surplus_pence IS 'council-funded part of the surplus (recoverable before exclusions and the minimum)';

-- statement 41
COMMENT ON COLUMN clawback_lines.client_excess_pence IS 'client-funded part of the surplus: reported, to refund or keep, never recovered';

-- statement 42
COMMENT ON COLUMN clawback_lines.amount_to_recover_pence IS 'what the instruction will unload (0 when excluded or below the minimum)';

-- statement 43
COMMENT ON COLUMN clawback_lines.outcome IS 'recover, recover_all (closed/deceased), excluded, below_minimum, nothing_to_recover';

-- statement 44
COMMENT ON COLUMN clawback_lines.reason IS 'why the line is excluded, below the minimum or recovers the whole council share';

-- statement 45
CREATE TABLE clawback_instructions (
	instruction_id VARCHAR(200) NOT NULL, 
	run_id VARCHAR(160) NOT NULL, 
	council VARCHAR(100) NOT NULL, 
	iso_week VARCHAR(8) NOT NULL, 
	client_id VARCHAR(100) NOT NULL, 
	provider VARCHAR(1) NOT NULL, 
	account_id VARCHAR(100) NOT NULL, 
	amount_pence BIGINT NOT NULL, 
	reference VARCHAR(40) NOT NULL, 
	file_name TEXT NOT NULL, 
	issued_on DATE NOT NULL, 
	approved_by VARCHAR(100) NOT NULL, 
	approved_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	matched_provider_txn_id VARCHAR(200), 
	matched_on DATE, 
	PRIMARY KEY (instruction_id)
);

-- statement 46
CREATE INDEX ix_clawback_instructions_status ON clawback_instructions (status);

-- statement 47
CREATE INDEX ix_clawback_instructions_card ON clawback_instructions (provider, account_id);

-- statement 48
COMMENT ON COLUMN clawback_instructions.instruction_id IS '''{run_id}:{provider}:{account_id}'': one per card per approved week';

-- statement 49
COMMENT ON COLUMN clawback_instructions.run_id IS 'the approved run';

-- statement 50
COMMENT ON COLUMN clawback_instructions.council IS 'the council the money returns to';

-- statement 51
COMMENT ON COLUMN clawback_instructions.iso_week IS 'ISO week of the approved run';

-- statement 52
COMMENT ON COLUMN clawback_instructions.client_id IS 'client id (never a name)';

-- statement 53
COMMENT ON COLUMN clawback_instructions.provider IS 'card provider A, B or C: decides the instruction file format';

-- statement 54
COMMENT ON COLUMN clawback_instructions.account_id IS 'card account to unload (never a PAN)';

-- statement 55
COMMENT ON COLUMN clawback_instructions.amount_pence IS 'amount to unload, positive pence';

-- statement 56
COMMENT ON COLUMN clawback_instructions.reference IS 'reference on the instruction, expected back on the unload where the feed carries one';

-- statement 57
COMMENT ON COLUMN clawback_instructions.file_name IS 'instruction file it was written to';

-- statement 58
COMMENT ON COLUMN clawback_instructions.issued_on IS 'the run''s clawback day: age for the unmatched check counts from here';

-- statement 59
COMMENT ON COLUMN clawback_instructions.approved_by IS 'who approved the schedule that issued it';

-- statement 60
COMMENT ON COLUMN clawback_instructions.approved_at IS 'when it was approved (UTC)';

-- statement 61
COMMENT ON COLUMN clawback_instructions.status IS 'issued (waiting for the unload in a feed) or matched';

-- statement 62
COMMENT ON COLUMN clawback_instructions.matched_provider_txn_id IS 'the feed''s unload item that carried it out';

-- statement 63
COMMENT ON COLUMN clawback_instructions.matched_on IS 'London date of the matched unload';

-- statement 64
CREATE TABLE contribution_weeks (
	client_id VARCHAR(100) NOT NULL, 
	iso_week VARCHAR(8) NOT NULL, 
	council VARCHAR(100) NOT NULL, 
	week_start DATE NOT NULL, 
	contribution_model VARCHAR(10) NOT NULL, 
	expected_pence BIGINT NOT NULL, 
	received_pence BIGINT NOT NULL, 
	week_difference_pence BIGINT NOT NULL, 
	arrears_pence BIGINT NOT NULL, 
	overpaid_pence BIGINT NOT NULL, 
	missed BOOLEAN NOT NULL, 
	consecutive_missed_weeks INTEGER NOT NULL, 
	first_missed_week_start DATE, 
	consecutive_short_weeks INTEGER NOT NULL, 
	matched_txn_ids TEXT, 
	computed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (client_id, iso_week)
);

-- statement 65
CREATE INDEX ix_contribution_weeks_council_week ON contribution_weeks (council, iso_week);

-- statement 66
COMMENT ON COLUMN contribution_weeks.client_id IS 'client id (never a name)';

-- statement 67
COMMENT ON COLUMN contribution_weeks.iso_week IS 'ISO week, Monday to Sunday (London days)';

-- statement 68
COMMENT ON COLUMN contribution_weeks.council IS 'the client''s council';

-- statement 69
COMMENT ON COLUMN contribution_weeks.week_start IS 'Monday of the week';

-- statement 70
COMMENT ON COLUMN contribution_weeks.contribution_model IS 'net (paid onto the card: verified) or gross (invoiced: report only)';

-- statement 71
COMMENT ON COLUMN contribution_weeks.expected_pence IS 'weekly_amount pro-rata by days effective (and card open) in the week, rounded down to whole pence';

-- statement 72
COMMENT ON COLUMN contribution_weeks.received_pence IS 'contributions received on the card in the week (settled money in matched to the client)';

-- statement 73
COMMENT ON COLUMN contribution_weeks.week_difference_pence IS 'received - expected for the week (negative = short)';

-- statement 74
COMMENT ON COLUMN contribution_weeks.arrears_pence IS 'cumulative expected - received since the contribution started, when positive (owed)';

-- statement 75
COMMENT ON COLUMN contribution_weeks.overpaid_pence IS 'cumulative received - expected, when positive (paid ahead or overpaid)';

-- statement 76
COMMENT ON COLUMN contribution_weeks.missed IS 'nothing received against a positive expectation while not in credit';

-- statement 77
COMMENT ON COLUMN contribution_weeks.consecutive_missed_weeks IS 'missed weeks in a row ending with this week';

-- statement 78
COMMENT ON COLUMN contribution_weeks.first_missed_week_start IS 'Monday of the first week of the current missed run';

-- statement 79
COMMENT ON COLUMN contribution_weeks.consecutive_short_weeks IS 'weeks in a row ending with this week where less than due arrived while in arrears';

-- statement 80
COMMENT ON COLUMN contribution_weeks.matched_txn_ids IS '''provider:txn id'' of the items counted, with how each matched';

-- statement 81
COMMENT ON COLUMN contribution_weeks.computed_at IS 'when this row last changed';

-- statement 82
CREATE TABLE accounts (
	code VARCHAR(200) NOT NULL, 
	name TEXT NOT NULL, 
	account_type VARCHAR(20) NOT NULL, 
	role VARCHAR(40) NOT NULL, 
	council VARCHAR(100), 
	client_id VARCHAR(100), 
	provider VARCHAR(1), 
	provider_account_id VARCHAR(100), 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (code)
);

-- statement 83
CREATE INDEX ix_accounts_client ON accounts (client_id);

-- statement 84
COMMENT ON COLUMN accounts.code IS 'e.g. card:A:10442817:council';

-- statement 85
COMMENT ON COLUMN accounts.account_type IS 'asset, equity, income, expense, suspense';

-- statement 86
COMMENT ON COLUMN accounts.role IS 'card_council, card_client, funding, ...';

-- statement 87
CREATE TABLE posting_batches (
	batch_id BIGINT NOT NULL, 
	source TEXT NOT NULL, 
	entries INTEGER NOT NULL, 
	postings INTEGER NOT NULL, 
	committed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (batch_id)
);

-- statement 88
COMMENT ON COLUMN posting_batches.source IS 'what was posted: a file name, ''take-on'', ''reversal''';

-- statement 89
CREATE TABLE posting_entry_checks (
	check_id BIGINT GENERATED BY DEFAULT AS IDENTITY, 
	min_entry_id BIGINT NOT NULL, 
	max_entry_id BIGINT NOT NULL, 
	PRIMARY KEY (check_id)
);

-- statement 90
COMMENT ON TABLE posting_entry_checks IS 'PostgreSQL''s bookkeeping for the rule that every posting''s journal entry exists by commit: each INSERT into `postings` adds one row here, and a constraint trigger deferred to commit checks that no posting with an entry_id in the row''s range lacks its entry, then removes the row. Empty between transactions. On SQLite the deferred foreign key `fk_postings_entry` does this and the table stays empty.';

-- statement 91
COMMENT ON COLUMN posting_entry_checks.min_entry_id IS 'lowest entry_id the statement''s postings name';

-- statement 92
COMMENT ON COLUMN posting_entry_checks.max_entry_id IS 'highest entry_id the statement''s postings name';

-- statement 93
CREATE TABLE card_balance_checkpoints (
	as_of_date DATE NOT NULL, 
	account_code VARCHAR(200) NOT NULL, 
	through_posting_id BIGINT NOT NULL, 
	balance_pence BIGINT NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (as_of_date, account_code)
);

-- statement 94
COMMENT ON TABLE card_balance_checkpoints IS 'Derived, not history: a starting point for ledger.queries.card_balances (balance = checkpoint + postings with a higher posting_id dated up to the day). Safe to delete; pruned after 42 days.';

-- statement 95
COMMENT ON COLUMN card_balance_checkpoints.as_of_date IS 'London day the balances are at the end of';

-- statement 96
COMMENT ON COLUMN card_balance_checkpoints.account_code IS 'a card account (card_council, card_client, suspense_card)';

-- statement 97
COMMENT ON COLUMN card_balance_checkpoints.through_posting_id IS 'sum of the account''s postings with posting_id up to this (none of them dated after as_of_date)';

-- statement 98
COMMENT ON COLUMN card_balance_checkpoints.balance_pence IS 'that sum; accounts at zero have no row';

-- statement 99
CREATE TABLE card_take_ons (
	provider VARCHAR(1) NOT NULL, 
	account_id VARCHAR(100) NOT NULL, 
	balance_date DATE NOT NULL, 
	amount_pence BIGINT NOT NULL, 
	entry_id BIGINT, 
	PRIMARY KEY (provider, account_id)
);

-- statement 100
COMMENT ON COLUMN card_take_ons.balance_date IS 'the card''s first closing balance day';

-- statement 101
COMMENT ON COLUMN card_take_ons.amount_pence IS 'money on the card before its first feed; 0 = none';

-- statement 102
COMMENT ON COLUMN card_take_ons.entry_id IS 'the take-on journal entry (null when the amount is 0)';

-- statement 103
CREATE TABLE exceptions (
	exception_id SERIAL NOT NULL, 
	exception_key VARCHAR(300) NOT NULL, 
	exception_type VARCHAR(40) NOT NULL, 
	council VARCHAR(100), 
	client_id VARCHAR(100), 
	provider VARCHAR(10), 
	account_id VARCHAR(100), 
	london_date DATE, 
	amount_pence BIGINT, 
	difference_pence BIGINT, 
	explanation TEXT NOT NULL, 
	cause VARCHAR(40), 
	evidence TEXT, 
	raised_for VARCHAR(20) NOT NULL, 
	first_seen DATE NOT NULL, 
	last_seen DATE NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	resolution VARCHAR(20), 
	resolved_on DATE, 
	note TEXT, 
	updated_by VARCHAR(100), 
	updated_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (exception_id), 
	UNIQUE (exception_key)
);

-- statement 104
CREATE INDEX ix_exceptions_type_status ON exceptions (exception_type, status);

-- statement 105
CREATE INDEX ix_exceptions_council_day ON exceptions (council, london_date);

-- statement 106
COMMENT ON COLUMN exceptions.exception_key IS 'natural key: type + what it is about; raising it again updates last_seen';

-- statement 107
COMMENT ON COLUMN exceptions.exception_type IS 'balance_mismatch, missing_load, late_load, duplicate_load, wrong_amount_load, unexpected_load, missing_file, late_file, conflict, quarantined_row, contribution_arrears, unmatched_unload, other_money_in, ...';

-- statement 108
COMMENT ON COLUMN exceptions.council IS 'the council it concerns; null = every council (e.g. a provider''s missing file)';

-- statement 109
COMMENT ON COLUMN exceptions.client_id IS 'client id from the cardholder register, when it is about one client';

-- statement 110
COMMENT ON COLUMN exceptions.provider IS 'A, B or C, when it is about a provider or one of its cards';

-- statement 111
COMMENT ON COLUMN exceptions.account_id IS 'the provider''s card account (reports show its last 4 characters only)';

-- statement 112
COMMENT ON COLUMN exceptions.london_date IS 'the day the exception is about';

-- statement 113
COMMENT ON COLUMN exceptions.amount_pence IS 'the money concerned (signed where a direction matters)';

-- statement 114
COMMENT ON COLUMN exceptions.difference_pence IS 'provider minus ledger, or seen minus expected';

-- statement 115
COMMENT ON COLUMN exceptions.explanation IS 'what was found and what would close it, in plain English';

-- statement 116
COMMENT ON COLUMN exceptions.cause IS 'machine-readable likely cause where one was found (e.g. missing_transaction, amount_mismatch, pending_booked_late, unknown_account); null = unexplained';

-- statement 117
COMMENT ON COLUMN exceptions.evidence IS 'provider items that would close it, as ''provider:provider_txn_id'' separated by spaces';

-- statement 118
COMMENT ON COLUMN exceptions.raised_for IS 'finance or audit';

-- statement 119
COMMENT ON COLUMN exceptions.first_seen IS 'run day it was first raised';

-- statement 120
COMMENT ON COLUMN exceptions.last_seen IS 'run day it was last found';

-- statement 121
COMMENT ON COLUMN exceptions.status IS 'open, explained, resolved';

-- statement 122
COMMENT ON COLUMN exceptions.resolution IS 'auto (no longer found), manual, or on_arrival (raised already closed, e.g. a late file)';

-- statement 123
COMMENT ON COLUMN exceptions.resolved_on IS 'run day (or day of the person''s decision) it was resolved';

-- statement 124
COMMENT ON COLUMN exceptions.note IS 'a person''s note: what was found, what was done';

-- statement 125
COMMENT ON COLUMN exceptions.updated_by IS 'who last changed its status by hand';

-- statement 126
COMMENT ON COLUMN exceptions.updated_at IS 'when it last changed (UTC)';

-- statement 127
CREATE TABLE runs (
	run_id VARCHAR(64) NOT NULL, 
	command VARCHAR(40) NOT NULL, 
	feed_date DATE, 
	started_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	status VARCHAR(20) NOT NULL, 
	summary_json TEXT, 
	PRIMARY KEY (run_id)
);

-- statement 128
CREATE TABLE feed_files (
	file_id SERIAL NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	file_name TEXT NOT NULL, 
	provider VARCHAR(10) NOT NULL, 
	file_kind VARCHAR(20) NOT NULL, 
	feed_date DATE, 
	drop_dir TEXT, 
	run_id VARCHAR(64), 
	status VARCHAR(20) NOT NULL, 
	message TEXT, 
	rows_read INTEGER NOT NULL, 
	rows_posted INTEGER NOT NULL, 
	rows_already_posted INTEGER NOT NULL, 
	rows_pending INTEGER NOT NULL, 
	rows_quarantined INTEGER NOT NULL, 
	incidents INTEGER NOT NULL, 
	batch_id BIGINT, 
	loaded_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (file_id), 
	UNIQUE (sha256)
);

-- statement 129
CREATE INDEX ix_feed_files_provider_date ON feed_files (provider, feed_date);

-- statement 130
COMMENT ON COLUMN feed_files.provider IS 'A, B, C or ''council''';

-- statement 131
COMMENT ON COLUMN feed_files.file_kind IS 'transactions, balances, reference';

-- statement 132
COMMENT ON COLUMN feed_files.status IS 'loaded or refused';

-- statement 133
CREATE TABLE transactions (
	provider VARCHAR(1) NOT NULL, 
	provider_txn_id VARCHAR(200) NOT NULL, 
	account_id VARCHAR(100) NOT NULL, 
	client_id VARCHAR(100), 
	council VARCHAR(100), 
	kind VARCHAR(30) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	hold_open BOOLEAN NOT NULL, 
	held_amount_pence BIGINT, 
	hold_closed_on DATE, 
	amount_pence BIGINT NOT NULL, 
	currency VARCHAR(3) NOT NULL, 
	occurred_at_utc TIMESTAMP WITH TIME ZONE NOT NULL, 
	london_date DATE NOT NULL, 
	posted_date DATE, 
	merchant_name TEXT, 
	mcc VARCHAR(4), 
	merchant_country VARCHAR(3), 
	payee_name TEXT, 
	payee_sort_code VARCHAR(6), 
	payee_account_number VARCHAR(8), 
	reference TEXT, 
	related_txn_id VARCHAR(200), 
	balance_after_pence BIGINT, 
	source_file TEXT NOT NULL, 
	source_line INTEGER NOT NULL, 
	payload_hash VARCHAR(64) NOT NULL, 
	entry_id BIGINT, 
	stored_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (provider, provider_txn_id)
);

-- statement 134
CREATE INDEX ix_transactions_cash_like_date ON transactions (london_date) WHERE kind = 'card_purchase' AND mcc IN ('4829', '6051', '6540');

-- statement 135
CREATE INDEX ix_transactions_account ON transactions (provider, account_id);

-- statement 136
CREATE INDEX ix_transactions_stored_at ON transactions (stored_at);

-- statement 137
CREATE INDEX ix_transactions_contribution_payers ON transactions (provider, account_id) WHERE kind = 'contribution';

-- statement 138
CREATE INDEX ix_transactions_client_date ON transactions (client_id, london_date);

-- statement 139
CREATE INDEX ix_transactions_kind_date ON transactions (kind, london_date);

-- statement 140
CREATE INDEX ix_transactions_related ON transactions (provider, related_txn_id);

-- statement 141
CREATE INDEX ix_transactions_date ON transactions (london_date);

-- statement 142
COMMENT ON COLUMN transactions.hold_open IS 'pending and not yet settled or released';

-- statement 143
COMMENT ON COLUMN transactions.held_amount_pence IS 'what the item held while pending (null if it never was)';

-- statement 144
COMMENT ON COLUMN transactions.hold_closed_on IS 'London day its hold ended (settled, released, reversed); null while open';

-- statement 145
COMMENT ON COLUMN transactions.amount_pence IS 'signed: + onto the card, - off it';

-- statement 146
COMMENT ON COLUMN transactions.entry_id IS 'the journal entry that posted it, once settled';

-- statement 147
COMMENT ON COLUMN transactions.stored_at IS 'when this version of the row was written (UTC); null if written before migration 0006';

-- statement 148
CREATE INDEX IF NOT EXISTS ix_transactions_utc_hour ON transactions ((CAST(EXTRACT(HOUR FROM occurred_at_utc AT TIME ZONE 'UTC') AS INTEGER)), kind, london_date);

-- statement 149
CREATE TABLE client_days (
	london_date DATE NOT NULL, 
	client_id VARCHAR(100) NOT NULL, 
	live_items INTEGER NOT NULL, 
	last_spend_day DATE, 
	PRIMARY KEY (london_date, client_id)
);

-- statement 150
COMMENT ON TABLE client_days IS 'Derived, not history: one row per client per day with live items, kept by feeds.ingest.store_and_post in the same transaction as the items (records.store.refresh_client_days). Screening reads a client''s first day seen and last spending day over its 42-day window from here (records.store.client_activity) instead of every item.';

-- statement 151
COMMENT ON COLUMN client_days.live_items IS 'the client''s settled or pending items of the day';

-- statement 152
COMMENT ON COLUMN client_days.last_spend_day IS 'latest day money was spent by the day''s items: a settled spend''s posting day (else its day), or the day of an open authorisation; null if none spent';

-- statement 153
CREATE TABLE quarantine (
	quarantine_id SERIAL NOT NULL, 
	run_id VARCHAR(64), 
	source_file TEXT NOT NULL, 
	file_sha256 VARCHAR(64), 
	source_line INTEGER, 
	provider VARCHAR(10), 
	provider_txn_id VARCHAR(200), 
	reason TEXT NOT NULL, 
	raw_text TEXT, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (quarantine_id)
);

-- statement 154
CREATE INDEX ix_quarantine_file ON quarantine (source_file);

-- statement 155
CREATE TABLE security_incidents (
	incident_id SERIAL NOT NULL, 
	run_id VARCHAR(64), 
	source_file TEXT NOT NULL, 
	file_sha256 VARCHAR(64), 
	source_line INTEGER, 
	field VARCHAR(100), 
	description TEXT NOT NULL, 
	detected_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (incident_id)
);

-- statement 156
COMMENT ON COLUMN security_incidents.description IS 'never the card number itself';

-- statement 157
CREATE TABLE provider_balances (
	provider VARCHAR(1) NOT NULL, 
	account_id VARCHAR(100) NOT NULL, 
	balance_date DATE NOT NULL, 
	closing_balance_pence BIGINT NOT NULL, 
	available_balance_pence BIGINT, 
	source_file TEXT NOT NULL, 
	loaded_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (provider, account_id, balance_date)
);

-- statement 158
CREATE INDEX ix_provider_balances_date ON provider_balances (balance_date);

-- statement 159
CREATE TABLE take_on_pending (
	provider VARCHAR(1) NOT NULL, 
	account_id VARCHAR(100) NOT NULL, 
	balance_date DATE NOT NULL, 
	PRIMARY KEY (provider, account_id, balance_date)
);

-- statement 160
COMMENT ON TABLE take_on_pending IS 'Derived, not history: the provider_balances rows that could still create or move a card''s take-on (dated before the card''s take-on, or of a card with none yet). Ingest writes them with the balances and the take-on pass removes the rows a take-on covers, so a night reads these few rows instead of every balance ever loaded (records/take_on_queue.py). Rebuilt from provider_balances by migration 0014.';

-- statement 161
COMMENT ON COLUMN take_on_pending.balance_date IS 'a provider_balances row''s day';

-- statement 162
CREATE TABLE ref_cardholders (
	row_id SERIAL NOT NULL, 
	client_id TEXT NOT NULL, 
	council TEXT NOT NULL, 
	provider VARCHAR(40) NOT NULL, 
	account_id TEXT NOT NULL, 
	opened DATE NOT NULL, 
	closed DATE, 
	weekly_budget_pence BIGINT NOT NULL, 
	contingency_weeks INTEGER, 
	cash_allowed BOOLEAN NOT NULL, 
	cash_weekly_limit_pence BIGINT, 
	contribution_model VARCHAR(40) NOT NULL, 
	team TEXT, 
	safeguarding_email TEXT, 
	source_line INTEGER, 
	extract_file TEXT, 
	PRIMARY KEY (row_id)
);

-- statement 163
COMMENT ON COLUMN ref_cardholders.extract_file IS 'the drop folder file this row came from';

-- statement 164
CREATE TABLE ref_payees (
	row_id SERIAL NOT NULL, 
	client_id TEXT NOT NULL, 
	payee_name TEXT NOT NULL, 
	sort_code TEXT NOT NULL, 
	account_number TEXT NOT NULL, 
	kind VARCHAR(40) NOT NULL, 
	approved_from DATE NOT NULL, 
	approved_to DATE, 
	source_line INTEGER, 
	extract_file TEXT, 
	PRIMARY KEY (row_id)
);

-- statement 165
COMMENT ON COLUMN ref_payees.extract_file IS 'the drop folder file this row came from';

-- statement 166
CREATE TABLE ref_contributions (
	row_id SERIAL NOT NULL, 
	client_id TEXT NOT NULL, 
	weekly_amount_pence BIGINT NOT NULL, 
	effective_from DATE NOT NULL, 
	effective_to DATE, 
	reference TEXT, 
	source_line INTEGER, 
	extract_file TEXT, 
	PRIMARY KEY (row_id)
);

-- statement 167
COMMENT ON COLUMN ref_contributions.extract_file IS 'the drop folder file this row came from';

-- statement 168
CREATE TABLE ref_load_schedule (
	row_id SERIAL NOT NULL, 
	client_id TEXT NOT NULL, 
	due_date DATE NOT NULL, 
	amount_pence BIGINT NOT NULL, 
	reference TEXT NOT NULL, 
	source_line INTEGER, 
	extract_file TEXT, 
	PRIMARY KEY (row_id)
);

-- statement 169
COMMENT ON COLUMN ref_load_schedule.extract_file IS 'the drop folder file this row came from';

-- statement 170
CREATE TABLE ref_client_events (
	row_id SERIAL NOT NULL, 
	client_id TEXT NOT NULL, 
	event VARCHAR(40) NOT NULL, 
	date DATE NOT NULL, 
	source_line INTEGER, 
	extract_file TEXT, 
	PRIMARY KEY (row_id)
);

-- statement 171
COMMENT ON COLUMN ref_client_events.extract_file IS 'the drop folder file this row came from';

-- statement 172
CREATE TABLE ref_commitments (
	row_id SERIAL NOT NULL, 
	client_id TEXT NOT NULL, 
	due_date DATE NOT NULL, 
	amount_pence BIGINT NOT NULL, 
	description TEXT NOT NULL, 
	source_line INTEGER, 
	extract_file TEXT, 
	PRIMARY KEY (row_id)
);

-- statement 173
COMMENT ON COLUMN ref_commitments.extract_file IS 'the drop folder file this row came from';

-- statement 174
CREATE TABLE ref_councils (
	name VARCHAR(100) NOT NULL, 
	policy_yaml TEXT NOT NULL, 
	extract_file TEXT, 
	PRIMARY KEY (name)
);

-- statement 175
COMMENT ON COLUMN ref_councils.policy_yaml IS 'the council''s entry from councils.yaml';

-- statement 176
CREATE TABLE safeguarding_cases (
	case_id SERIAL NOT NULL, 
	council VARCHAR(100) NOT NULL, 
	client_id VARCHAR(100) NOT NULL, 
	rule VARCHAR(40) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	severity VARCHAR(10) NOT NULL, 
	opened_on DATE NOT NULL, 
	last_finding_on DATE NOT NULL, 
	findings INTEGER NOT NULL, 
	evidence TEXT NOT NULL, 
	explanation TEXT NOT NULL, 
	amount_pence BIGINT, 
	provider VARCHAR(1), 
	account_id VARCHAR(100), 
	outcome VARCHAR(20), 
	note TEXT, 
	closed_on DATE, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	updated_by VARCHAR(100) NOT NULL, 
	PRIMARY KEY (case_id)
);

-- statement 177
CREATE INDEX ix_safeguarding_cases_client_rule_status ON safeguarding_cases (client_id, rule, status);

-- statement 178
CREATE INDEX ix_safeguarding_cases_status ON safeguarding_cases (status, council);

-- statement 179
COMMENT ON COLUMN safeguarding_cases.case_id IS 'case number quoted in alerts';

-- statement 180
COMMENT ON COLUMN safeguarding_cases.council IS 'the client''s council';

-- statement 181
COMMENT ON COLUMN safeguarding_cases.client_id IS 'client id (never a name)';

-- statement 182
COMMENT ON COLUMN safeguarding_cases.rule IS 'the rule that opened the case, e.g. drain_after_load';

-- statement 183
COMMENT ON COLUMN safeguarding_cases.status IS 'open, acknowledged, referred or closed; open/acknowledged/referred = an open safeguarding case';

-- statement 184
COMMENT ON COLUMN safeguarding_cases.severity IS 'low, medium, high or critical (highest of its findings)';

-- statement 185
COMMENT ON COLUMN safeguarding_cases.opened_on IS 'London date of the first finding';

-- statement 186
COMMENT ON COLUMN safeguarding_cases.last_finding_on IS 'London date of the latest finding merged into the case (cooldown runs from here)';

-- statement 187
COMMENT ON COLUMN safeguarding_cases.findings IS 'number of findings merged into the case';

-- statement 188
COMMENT ON COLUMN safeguarding_cases.evidence IS 'every evidence transaction id, ''provider:provider_txn_id'' separated by spaces';

-- statement 189
COMMENT ON COLUMN safeguarding_cases.explanation IS 'the latest finding''s plain-English explanation';

-- statement 190
COMMENT ON COLUMN safeguarding_cases.amount_pence IS 'money concerned, summed over the case''s findings';

-- statement 191
COMMENT ON COLUMN safeguarding_cases.provider IS 'card provider';

-- statement 192
COMMENT ON COLUMN safeguarding_cases.account_id IS 'provider card account id';

-- statement 193
COMMENT ON COLUMN safeguarding_cases.outcome IS 'on closing: confirmed, false_positive or no_action_needed';

-- statement 194
COMMENT ON COLUMN safeguarding_cases.note IS 'the lead''s latest note';

-- statement 195
COMMENT ON COLUMN safeguarding_cases.closed_on IS 'London date the case was closed';

-- statement 196
COMMENT ON COLUMN safeguarding_cases.created_at IS 'when the case row was created (UTC)';

-- statement 197
COMMENT ON COLUMN safeguarding_cases.updated_at IS 'when the case last changed (UTC)';

-- statement 198
COMMENT ON COLUMN safeguarding_cases.updated_by IS 'who last changed the case (''screening'' for the system)';

-- statement 199
CREATE TABLE suppressions (
	suppression_id SERIAL NOT NULL, 
	client_id VARCHAR(100) NOT NULL, 
	rule VARCHAR(40) NOT NULL, 
	until_date DATE NOT NULL, 
	reason TEXT NOT NULL, 
	created_by VARCHAR(100) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	active BOOLEAN NOT NULL, 
	withdrawn_by VARCHAR(100), 
	withdrawn_at TIMESTAMP WITH TIME ZONE, 
	withdrawn_reason TEXT, 
	PRIMARY KEY (suppression_id)
);

-- statement 200
CREATE INDEX ix_suppressions_client_rule ON suppressions (client_id, rule, until_date);

-- statement 201
COMMENT ON COLUMN suppressions.suppression_id IS 'surrogate id';

-- statement 202
COMMENT ON COLUMN suppressions.client_id IS 'client id';

-- statement 203
COMMENT ON COLUMN suppressions.rule IS 'rule silenced for this client';

-- statement 204
COMMENT ON COLUMN suppressions.until_date IS 'last London day the suppression applies (inclusive)';

-- statement 205
COMMENT ON COLUMN suppressions.reason IS 'why (e.g. ''cash agreed in review 2026-03-01'')';

-- statement 206
COMMENT ON COLUMN suppressions.created_by IS 'who recorded it';

-- statement 207
COMMENT ON COLUMN suppressions.created_at IS 'when (UTC)';

-- statement 208
COMMENT ON COLUMN suppressions.active IS 'false once withdrawn';

-- statement 209
COMMENT ON COLUMN suppressions.withdrawn_by IS 'who withdrew it (null while active)';

-- statement 210
COMMENT ON COLUMN suppressions.withdrawn_at IS 'when it was withdrawn (UTC)';

-- statement 211
COMMENT ON COLUMN suppressions.withdrawn_reason IS 'why it was withdrawn';

-- statement 212
CREATE TABLE journal_entries (
	entry_id BIGINT NOT NULL, 
	idempotency_key VARCHAR(300) NOT NULL, 
	entry_type VARCHAR(40) NOT NULL, 
	effective_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	london_date DATE NOT NULL, 
	occurred_at TIMESTAMP WITH TIME ZONE, 
	description TEXT NOT NULL, 
	council VARCHAR(100), 
	client_id VARCHAR(100), 
	provider VARCHAR(1), 
	provider_account_id VARCHAR(100), 
	provider_txn_id VARCHAR(200), 
	source_file TEXT, 
	source_line INTEGER, 
	reverses_entry_id BIGINT, 
	payload_hash VARCHAR(64) NOT NULL, 
	batch_id BIGINT NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	entry_hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (entry_id), 
	UNIQUE (idempotency_key), 
	FOREIGN KEY(reverses_entry_id) REFERENCES journal_entries (entry_id), 
	FOREIGN KEY(batch_id) REFERENCES posting_batches (batch_id)
);

-- statement 213
CREATE INDEX ix_journal_entries_reverses ON journal_entries (reverses_entry_id);

-- statement 214
CREATE INDEX ix_journal_entries_date ON journal_entries (london_date);

-- statement 215
COMMENT ON TABLE journal_entries IS 'One row per journal entry; its postings (two or more, summing to zero) are in `postings`. A client''s entries are read through `postings` and `accounts` (by `ix_postings_account_date`, as the statement of account does); a provider item''s entry by `idempotency_key` = `provider:provider_txn_id` (unique) or by `transactions.entry_id`.';

-- statement 216
COMMENT ON COLUMN journal_entries.effective_at IS 'booking time (UTC)';

-- statement 217
COMMENT ON COLUMN journal_entries.london_date IS 'the council''s booking day';

-- statement 218
COMMENT ON COLUMN journal_entries.occurred_at IS 'when the card event happened (UTC)';

-- statement 219
COMMENT ON COLUMN journal_entries.payload_hash IS 'hash of the source facts: detects conflicts';

-- statement 220
CREATE TABLE screening_findings (
	finding_id SERIAL NOT NULL, 
	finding_key VARCHAR(64) NOT NULL, 
	rule VARCHAR(40) NOT NULL, 
	council VARCHAR(100) NOT NULL, 
	client_id VARCHAR(100) NOT NULL, 
	london_date DATE NOT NULL, 
	detected_on DATE, 
	run_day DATE NOT NULL, 
	severity VARCHAR(10) NOT NULL, 
	explanation TEXT NOT NULL, 
	evidence TEXT NOT NULL, 
	amount_pence BIGINT, 
	provider VARCHAR(1), 
	account_id VARCHAR(100), 
	policy TEXT, 
	override TEXT, 
	details_json TEXT, 
	case_id INTEGER, 
	suppressed_by INTEGER, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (finding_id), 
	UNIQUE (finding_key), 
	FOREIGN KEY(case_id) REFERENCES safeguarding_cases (case_id), 
	FOREIGN KEY(suppressed_by) REFERENCES suppressions (suppression_id)
);

-- statement 221
CREATE INDEX ix_screening_findings_client ON screening_findings (client_id, rule);

-- statement 222
CREATE INDEX ix_screening_findings_case ON screening_findings (case_id);

-- statement 223
CREATE INDEX ix_screening_findings_rule_date ON screening_findings (rule, london_date);

-- statement 224
COMMENT ON COLUMN screening_findings.finding_id IS 'surrogate id';

-- statement 225
COMMENT ON COLUMN screening_findings.finding_key IS 'sha256 of rule + client + date + evidence: recording the same finding twice adds nothing';

-- statement 226
COMMENT ON COLUMN screening_findings.rule IS 'rule name (simulator ground-truth names)';

-- statement 227
COMMENT ON COLUMN screening_findings.council IS 'the client''s council';

-- statement 228
COMMENT ON COLUMN screening_findings.client_id IS 'client id';

-- statement 229
COMMENT ON COLUMN screening_findings.london_date IS 'the day the pattern is about (its first day)';

-- statement 230
COMMENT ON COLUMN screening_findings.detected_on IS 'the day the pattern first crossed its threshold';

-- statement 231
COMMENT ON COLUMN screening_findings.run_day IS 'the screening run''s day that recorded it';

-- statement 232
COMMENT ON COLUMN screening_findings.severity IS 'low, medium, high or critical';

-- statement 233
COMMENT ON COLUMN screening_findings.explanation IS 'plain English with the numbers; no names, last 4 digits of accounts only';

-- statement 234
COMMENT ON COLUMN screening_findings.evidence IS 'evidence transaction ids, ''provider:provider_txn_id'' separated by spaces';

-- statement 235
COMMENT ON COLUMN screening_findings.amount_pence IS 'the money concerned';

-- statement 236
COMMENT ON COLUMN screening_findings.provider IS 'card provider';

-- statement 237
COMMENT ON COLUMN screening_findings.account_id IS 'provider card account id';

-- statement 238
COMMENT ON COLUMN screening_findings.policy IS 'which policy / thresholds applied';

-- statement 239
COMMENT ON COLUMN screening_findings.override IS 'which client-level override applied, if any';

-- statement 240
COMMENT ON COLUMN screening_findings.details_json IS 'rule-specific numbers as JSON';

-- statement 241
COMMENT ON COLUMN screening_findings.case_id IS 'the case it opened or was merged into (null when suppressed)';

-- statement 242
COMMENT ON COLUMN screening_findings.suppressed_by IS 'the suppression that silenced it, if any';

-- statement 243
COMMENT ON COLUMN screening_findings.created_at IS 'when it was recorded (UTC)';

-- statement 244
CREATE TABLE case_events (
	event_id SERIAL NOT NULL, 
	case_id INTEGER NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	actor VARCHAR(100) NOT NULL, 
	action VARCHAR(30) NOT NULL, 
	from_status VARCHAR(20), 
	to_status VARCHAR(20), 
	outcome VARCHAR(20), 
	note TEXT, 
	finding_id INTEGER, 
	PRIMARY KEY (event_id), 
	FOREIGN KEY(case_id) REFERENCES safeguarding_cases (case_id)
);

-- statement 245
CREATE INDEX ix_case_events_case ON case_events (case_id, event_id);

-- statement 246
COMMENT ON COLUMN case_events.event_id IS 'order of events';

-- statement 247
COMMENT ON COLUMN case_events.case_id IS 'the case';

-- statement 248
COMMENT ON COLUMN case_events.at IS 'when (UTC)';

-- statement 249
COMMENT ON COLUMN case_events.actor IS 'who (''screening'' for the system)';

-- statement 250
COMMENT ON COLUMN case_events.action IS 'opened, finding_added, alert_raised, alert_sent, acknowledged, referred, closed';

-- statement 251
COMMENT ON COLUMN case_events.from_status IS 'status before';

-- statement 252
COMMENT ON COLUMN case_events.to_status IS 'status after';

-- statement 253
COMMENT ON COLUMN case_events.outcome IS 'on closing: confirmed, false_positive or no_action_needed';

-- statement 254
COMMENT ON COLUMN case_events.note IS 'what was decided or found';

-- statement 255
COMMENT ON COLUMN case_events.finding_id IS 'the finding concerned, for opened / finding_added';

-- statement 256
CREATE TABLE postings (
	posting_id BIGINT NOT NULL, 
	entry_id BIGINT NOT NULL, 
	account_code VARCHAR(200) NOT NULL, 
	amount_pence BIGINT NOT NULL, 
	london_date DATE NOT NULL, 
	effective_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (posting_id), 
	CONSTRAINT ck_postings_nonzero CHECK (amount_pence <> 0), 
	CONSTRAINT fk_postings_entry FOREIGN KEY(entry_id) REFERENCES journal_entries (entry_id) DEFERRABLE INITIALLY DEFERRED, 
	FOREIGN KEY(account_code) REFERENCES accounts (code)
);

-- statement 257
CREATE INDEX ix_postings_account_date ON postings (account_code, london_date);

-- statement 258
CREATE INDEX ix_postings_entry ON postings (entry_id);

-- statement 259
COMMENT ON COLUMN postings.amount_pence IS 'signed: debit +, credit -';

-- statement 260
COMMENT ON COLUMN postings.london_date IS 'copy of the entry''s, for indexed balance queries';

-- statement 261
COMMENT ON COLUMN postings.effective_at IS 'copy of the entry''s';

-- statement 262
CREATE TABLE alerts (
	alert_id SERIAL NOT NULL, 
	case_id INTEGER NOT NULL, 
	finding_id INTEGER NOT NULL, 
	council VARCHAR(100) NOT NULL, 
	client_id VARCHAR(100) NOT NULL, 
	rule VARCHAR(40) NOT NULL, 
	severity VARCHAR(10) NOT NULL, 
	recipient TEXT NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	raised_on DATE NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	sent_at TIMESTAMP WITH TIME ZONE, 
	sent_via VARCHAR(20), 
	message_id TEXT, 
	subject TEXT, 
	PRIMARY KEY (alert_id), 
	FOREIGN KEY(case_id) REFERENCES safeguarding_cases (case_id), 
	FOREIGN KEY(finding_id) REFERENCES screening_findings (finding_id)
);

-- statement 263
CREATE INDEX ix_alerts_status ON alerts (status);

-- statement 264
CREATE INDEX ix_alerts_case ON alerts (case_id);

-- statement 265
COMMENT ON COLUMN alerts.alert_id IS 'surrogate id';

-- statement 266
COMMENT ON COLUMN alerts.case_id IS 'the case the alert is about';

-- statement 267
COMMENT ON COLUMN alerts.finding_id IS 'the finding that raised it';

-- statement 268
COMMENT ON COLUMN alerts.council IS 'the client''s council';

-- statement 269
COMMENT ON COLUMN alerts.client_id IS 'client id';

-- statement 270
COMMENT ON COLUMN alerts.rule IS 'rule name';

-- statement 271
COMMENT ON COLUMN alerts.severity IS 'low, medium, high or critical';

-- statement 272
COMMENT ON COLUMN alerts.recipient IS 'the client''s safeguarding lead, else the council''s safeguarding_mailbox';

-- statement 273
COMMENT ON COLUMN alerts.status IS 'pending (to send) or sent';

-- statement 274
COMMENT ON COLUMN alerts.raised_on IS 'the screening run''s day';

-- statement 275
COMMENT ON COLUMN alerts.created_at IS 'when the alert was raised (UTC)';

-- statement 276
COMMENT ON COLUMN alerts.sent_at IS 'when the e-mail was accepted by the SMTP server (UTC)';

-- statement 277
COMMENT ON COLUMN alerts.sent_via IS 'smtp or outbox (written to the outbox folder only)';

-- statement 278
COMMENT ON COLUMN alerts.message_id IS 'the e-mail''s Message-ID';

-- statement 279
COMMENT ON COLUMN alerts.subject IS 'the e-mail''s subject';

-- statement 280
CREATE OR REPLACE FUNCTION careledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'careledger: % on % is refused: posted history is immutable; post a reversing entry instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
    END $$;

-- statement 281
CREATE OR REPLACE FUNCTION careledger_check_new_entries() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad record; bad_batch record;
    BEGIN
      SELECT n.entry_id, n.idempotency_key,
             coalesce(sum(p.amount_pence), 0) AS total_pence, count(p.posting_id) AS n_postings
        INTO bad
        FROM new_entries n LEFT JOIN postings p ON p.entry_id = n.entry_id
       GROUP BY n.entry_id, n.idempotency_key
      HAVING coalesce(sum(p.amount_pence), 0) <> 0 OR count(p.posting_id) < 2
       LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'careledger: journal entry % (%) does not balance: % posting(s) summing to % pence',
          bad.entry_id, bad.idempotency_key, bad.n_postings, bad.total_pence USING ERRCODE = 'check_violation';
      END IF;
      SELECT n.entry_id, n.batch_id INTO bad_batch FROM new_entries n
       WHERE NOT EXISTS (SELECT 1 FROM posting_batches b WHERE b.batch_id = n.batch_id) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'careledger: journal entry % names posting batch %, which does not exist',
          bad_batch.entry_id, bad_batch.batch_id USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END $$;

-- statement 282
CREATE OR REPLACE FUNCTION careledger_check_new_postings() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad bigint; bad_code text;
    BEGIN
      SELECT np.entry_id INTO bad FROM new_postings np
       WHERE EXISTS (SELECT 1 FROM journal_entries e WHERE e.entry_id = np.entry_id) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'careledger: journal entry % is already posted; its postings cannot change', bad
          USING ERRCODE = 'restrict_violation';
      END IF;
      SELECT np.account_code INTO bad_code FROM new_postings np
       WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.code = np.account_code) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'careledger: posting to account %, which is not in the chart of accounts', bad_code
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      -- Their entries must exist by commit: checked then, over this statement's range of entry ids.
      INSERT INTO posting_entry_checks (min_entry_id, max_entry_id)
        SELECT min(np.entry_id), max(np.entry_id) FROM new_postings np HAVING count(*) > 0;
      RETURN NULL;
    END $$;

-- statement 283
CREATE OR REPLACE FUNCTION careledger_check_posting_entries() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE bad bigint;
    BEGIN
      EXECUTE 'SELECT p.entry_id FROM postings p WHERE p.entry_id BETWEEN $1 AND $2'
              ' AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.entry_id = p.entry_id'
              ' AND e.entry_id BETWEEN $1 AND $2) LIMIT 1'
        INTO bad USING NEW.min_entry_id, NEW.max_entry_id;
      IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'careledger: posting to journal entry %, which does not exist (a posting''s entry must be written in the same transaction)', bad
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      DELETE FROM posting_entry_checks WHERE check_id = NEW.check_id;
      RETURN NULL;
    END $$;

-- statement 284
CREATE OR REPLACE FUNCTION careledger_keep_used_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.code = OLD.code THEN
        RETURN NEW;
      END IF;
      PERFORM pg_advisory_xact_lock(212001261);
      IF EXISTS (SELECT 1 FROM postings p WHERE p.account_code = OLD.code) THEN
        RAISE EXCEPTION 'careledger: account % has postings; it cannot be %', OLD.code,
          CASE TG_OP WHEN 'DELETE' THEN 'deleted' ELSE 'renamed' END USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END $$;

-- statement 285
CREATE TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
      REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION careledger_check_new_entries();

-- statement 286
CREATE TRIGGER postings_entry_not_posted AFTER INSERT ON postings
      REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION careledger_check_new_postings();

-- statement 287
DROP TRIGGER IF EXISTS posting_entries_exist ON posting_entry_checks;

-- statement 288
CREATE CONSTRAINT TRIGGER posting_entries_exist AFTER INSERT ON posting_entry_checks DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION careledger_check_posting_entries();

-- statement 289
DROP TRIGGER IF EXISTS accounts_keep_used ON accounts;

-- statement 290
CREATE TRIGGER accounts_keep_used BEFORE DELETE OR UPDATE OF code ON accounts FOR EACH ROW EXECUTE FUNCTION careledger_keep_used_accounts();

-- statement 291
CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_entries FOR EACH STATEMENT EXECUTE FUNCTION careledger_refuse_change();

-- statement 292
CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON postings FOR EACH STATEMENT EXECUTE FUNCTION careledger_refuse_change();

-- statement 293
CREATE TRIGGER posting_batches_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON posting_batches FOR EACH STATEMENT EXECUTE FUNCTION careledger_refuse_change();
