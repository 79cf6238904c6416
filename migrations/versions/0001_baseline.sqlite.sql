-- careledger baseline schema for SQLite (migration 0001), frozen at revision 0014 (December 2026).
-- Exactly what the baseline then executed on a new database: create_all over every table declared in the
-- tables modules, then ledger/guards.py's triggers.
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
	computed_at DATETIME NOT NULL, 
	approved_at DATETIME, 
	approved_by VARCHAR(100), 
	PRIMARY KEY (run_id)
);

-- statement 2
CREATE INDEX ix_clawback_runs_week ON clawback_runs (iso_week);

-- statement 3
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

-- statement 4
CREATE INDEX ix_clawback_lines_client ON clawback_lines (client_id);

-- statement 5
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
	approved_at DATETIME NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	matched_provider_txn_id VARCHAR(200), 
	matched_on DATE, 
	PRIMARY KEY (instruction_id)
);

-- statement 6
CREATE INDEX ix_clawback_instructions_status ON clawback_instructions (status);

-- statement 7
CREATE INDEX ix_clawback_instructions_card ON clawback_instructions (provider, account_id);

-- statement 8
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
	computed_at DATETIME NOT NULL, 
	PRIMARY KEY (client_id, iso_week)
);

-- statement 9
CREATE INDEX ix_contribution_weeks_council_week ON contribution_weeks (council, iso_week);

-- statement 10
CREATE TABLE accounts (
	code VARCHAR(200) NOT NULL, 
	name TEXT NOT NULL, 
	account_type VARCHAR(20) NOT NULL, 
	role VARCHAR(40) NOT NULL, 
	council VARCHAR(100), 
	client_id VARCHAR(100), 
	provider VARCHAR(1), 
	provider_account_id VARCHAR(100), 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (code)
);

-- statement 11
CREATE INDEX ix_accounts_client ON accounts (client_id);

-- statement 12
CREATE TABLE posting_batches (
	batch_id BIGINT NOT NULL, 
	source TEXT NOT NULL, 
	entries INTEGER NOT NULL, 
	postings INTEGER NOT NULL, 
	committed_at DATETIME NOT NULL, 
	PRIMARY KEY (batch_id)
);

-- statement 13
CREATE TABLE posting_entry_checks (
	check_id BIGINT NOT NULL, 
	min_entry_id BIGINT NOT NULL, 
	max_entry_id BIGINT NOT NULL, 
	PRIMARY KEY (check_id)
);

-- statement 14
CREATE TABLE card_balance_checkpoints (
	as_of_date DATE NOT NULL, 
	account_code VARCHAR(200) NOT NULL, 
	through_posting_id BIGINT NOT NULL, 
	balance_pence BIGINT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (as_of_date, account_code)
);

-- statement 15
CREATE TABLE card_take_ons (
	provider VARCHAR(1) NOT NULL, 
	account_id VARCHAR(100) NOT NULL, 
	balance_date DATE NOT NULL, 
	amount_pence BIGINT NOT NULL, 
	entry_id BIGINT, 
	PRIMARY KEY (provider, account_id)
);

-- statement 16
CREATE TABLE exceptions (
	exception_id INTEGER NOT NULL, 
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
	updated_at DATETIME, 
	PRIMARY KEY (exception_id), 
	UNIQUE (exception_key)
);

-- statement 17
CREATE INDEX ix_exceptions_type_status ON exceptions (exception_type, status);

-- statement 18
CREATE INDEX ix_exceptions_council_day ON exceptions (council, london_date);

-- statement 19
CREATE TABLE runs (
	run_id VARCHAR(64) NOT NULL, 
	command VARCHAR(40) NOT NULL, 
	feed_date DATE, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	status VARCHAR(20) NOT NULL, 
	summary_json TEXT, 
	PRIMARY KEY (run_id)
);

-- statement 20
CREATE TABLE feed_files (
	file_id INTEGER NOT NULL, 
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
	loaded_at DATETIME NOT NULL, 
	PRIMARY KEY (file_id), 
	UNIQUE (sha256)
);

-- statement 21
CREATE INDEX ix_feed_files_provider_date ON feed_files (provider, feed_date);

-- statement 22
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
	occurred_at_utc DATETIME NOT NULL, 
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
	stored_at DATETIME, 
	PRIMARY KEY (provider, provider_txn_id)
);

-- statement 23
CREATE INDEX ix_transactions_cash_like_date ON transactions (london_date) WHERE kind = 'card_purchase' AND mcc IN ('4829', '6051', '6540');

-- statement 24
CREATE INDEX ix_transactions_account ON transactions (provider, account_id);

-- statement 25
CREATE INDEX ix_transactions_stored_at ON transactions (stored_at);

-- statement 26
CREATE INDEX ix_transactions_contribution_payers ON transactions (provider, account_id) WHERE kind = 'contribution';

-- statement 27
CREATE INDEX ix_transactions_client_date ON transactions (client_id, london_date);

-- statement 28
CREATE INDEX ix_transactions_kind_date ON transactions (kind, london_date);

-- statement 29
CREATE INDEX ix_transactions_related ON transactions (provider, related_txn_id);

-- statement 30
CREATE INDEX ix_transactions_date ON transactions (london_date);

-- statement 31
CREATE INDEX IF NOT EXISTS ix_transactions_utc_hour ON transactions ((CAST(substr(occurred_at_utc, 12, 2) AS INTEGER)), kind, london_date);

-- statement 32
CREATE TABLE client_days (
	london_date DATE NOT NULL, 
	client_id VARCHAR(100) NOT NULL, 
	live_items INTEGER NOT NULL, 
	last_spend_day DATE, 
	PRIMARY KEY (london_date, client_id)
);

-- statement 33
CREATE TABLE quarantine (
	quarantine_id INTEGER NOT NULL, 
	run_id VARCHAR(64), 
	source_file TEXT NOT NULL, 
	file_sha256 VARCHAR(64), 
	source_line INTEGER, 
	provider VARCHAR(10), 
	provider_txn_id VARCHAR(200), 
	reason TEXT NOT NULL, 
	raw_text TEXT, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (quarantine_id)
);

-- statement 34
CREATE INDEX ix_quarantine_file ON quarantine (source_file);

-- statement 35
CREATE TABLE security_incidents (
	incident_id INTEGER NOT NULL, 
	run_id VARCHAR(64), 
	source_file TEXT NOT NULL, 
	file_sha256 VARCHAR(64), 
	source_line INTEGER, 
	field VARCHAR(100), 
	description TEXT NOT NULL, 
	detected_at DATETIME NOT NULL, 
	PRIMARY KEY (incident_id)
);

-- statement 36
CREATE TABLE provider_balances (
	provider VARCHAR(1) NOT NULL, 
	account_id VARCHAR(100) NOT NULL, 
	balance_date DATE NOT NULL, 
	closing_balance_pence BIGINT NOT NULL, 
	available_balance_pence BIGINT, 
	source_file TEXT NOT NULL, 
	loaded_at DATETIME NOT NULL, 
	PRIMARY KEY (provider, account_id, balance_date)
);

-- statement 37
CREATE INDEX ix_provider_balances_date ON provider_balances (balance_date);

-- statement 38
CREATE TABLE take_on_pending (
	provider VARCHAR(1) NOT NULL, 
	account_id VARCHAR(100) NOT NULL, 
	balance_date DATE NOT NULL, 
	PRIMARY KEY (provider, account_id, balance_date)
);

-- statement 39
CREATE TABLE ref_cardholders (
	row_id INTEGER NOT NULL, 
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

-- statement 40
CREATE TABLE ref_payees (
	row_id INTEGER NOT NULL, 
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

-- statement 41
CREATE TABLE ref_contributions (
	row_id INTEGER NOT NULL, 
	client_id TEXT NOT NULL, 
	weekly_amount_pence BIGINT NOT NULL, 
	effective_from DATE NOT NULL, 
	effective_to DATE, 
	reference TEXT, 
	source_line INTEGER, 
	extract_file TEXT, 
	PRIMARY KEY (row_id)
);

-- statement 42
CREATE TABLE ref_load_schedule (
	row_id INTEGER NOT NULL, 
	client_id TEXT NOT NULL, 
	due_date DATE NOT NULL, 
	amount_pence BIGINT NOT NULL, 
	reference TEXT NOT NULL, 
	source_line INTEGER, 
	extract_file TEXT, 
	PRIMARY KEY (row_id)
);

-- statement 43
CREATE TABLE ref_client_events (
	row_id INTEGER NOT NULL, 
	client_id TEXT NOT NULL, 
	event VARCHAR(40) NOT NULL, 
	date DATE NOT NULL, 
	source_line INTEGER, 
	extract_file TEXT, 
	PRIMARY KEY (row_id)
);

-- statement 44
CREATE TABLE ref_commitments (
	row_id INTEGER NOT NULL, 
	client_id TEXT NOT NULL, 
	due_date DATE NOT NULL, 
	amount_pence BIGINT NOT NULL, 
	description TEXT NOT NULL, 
	source_line INTEGER, 
	extract_file TEXT, 
	PRIMARY KEY (row_id)
);

-- statement 45
CREATE TABLE ref_councils (
	name VARCHAR(100) NOT NULL, 
	policy_yaml TEXT NOT NULL, 
	extract_file TEXT, 
	PRIMARY KEY (name)
);

-- statement 46
CREATE TABLE safeguarding_cases (
	case_id INTEGER NOT NULL, 
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
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	updated_by VARCHAR(100) NOT NULL, 
	PRIMARY KEY (case_id)
);

-- statement 47
CREATE INDEX ix_safeguarding_cases_client_rule_status ON safeguarding_cases (client_id, rule, status);

-- statement 48
CREATE INDEX ix_safeguarding_cases_status ON safeguarding_cases (status, council);

-- statement 49
CREATE TABLE suppressions (
	suppression_id INTEGER NOT NULL, 
	client_id VARCHAR(100) NOT NULL, 
	rule VARCHAR(40) NOT NULL, 
	until_date DATE NOT NULL, 
	reason TEXT NOT NULL, 
	created_by VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	active BOOLEAN NOT NULL, 
	withdrawn_by VARCHAR(100), 
	withdrawn_at DATETIME, 
	withdrawn_reason TEXT, 
	PRIMARY KEY (suppression_id)
);

-- statement 50
CREATE INDEX ix_suppressions_client_rule ON suppressions (client_id, rule, until_date);

-- statement 51
CREATE TABLE journal_entries (
	entry_id BIGINT NOT NULL, 
	idempotency_key VARCHAR(300) NOT NULL, 
	entry_type VARCHAR(40) NOT NULL, 
	effective_at DATETIME NOT NULL, 
	london_date DATE NOT NULL, 
	occurred_at DATETIME, 
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

-- statement 52
CREATE INDEX ix_journal_entries_reverses ON journal_entries (reverses_entry_id);

-- statement 53
CREATE INDEX ix_journal_entries_date ON journal_entries (london_date);

-- statement 54
CREATE TABLE screening_findings (
	finding_id INTEGER NOT NULL, 
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
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (finding_id), 
	UNIQUE (finding_key), 
	FOREIGN KEY(case_id) REFERENCES safeguarding_cases (case_id), 
	FOREIGN KEY(suppressed_by) REFERENCES suppressions (suppression_id)
);

-- statement 55
CREATE INDEX ix_screening_findings_client ON screening_findings (client_id, rule);

-- statement 56
CREATE INDEX ix_screening_findings_case ON screening_findings (case_id);

-- statement 57
CREATE INDEX ix_screening_findings_rule_date ON screening_findings (rule, london_date);

-- statement 58
CREATE TABLE case_events (
	event_id INTEGER NOT NULL, 
	case_id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
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

-- statement 59
CREATE INDEX ix_case_events_case ON case_events (case_id, event_id);

-- statement 60
CREATE TABLE postings (
	posting_id BIGINT NOT NULL, 
	entry_id BIGINT NOT NULL, 
	account_code VARCHAR(200) NOT NULL, 
	amount_pence BIGINT NOT NULL, 
	london_date DATE NOT NULL, 
	effective_at DATETIME NOT NULL, 
	PRIMARY KEY (posting_id), 
	CONSTRAINT ck_postings_nonzero CHECK (amount_pence <> 0), 
	CONSTRAINT fk_postings_entry FOREIGN KEY(entry_id) REFERENCES journal_entries (entry_id) DEFERRABLE INITIALLY DEFERRED, 
	FOREIGN KEY(account_code) REFERENCES accounts (code)
);

-- statement 61
CREATE INDEX ix_postings_account_date ON postings (account_code, london_date);

-- statement 62
CREATE INDEX ix_postings_entry ON postings (entry_id);

-- statement 63
CREATE TABLE alerts (
	alert_id INTEGER NOT NULL, 
	case_id INTEGER NOT NULL, 
	finding_id INTEGER NOT NULL, 
	council VARCHAR(100) NOT NULL, 
	client_id VARCHAR(100) NOT NULL, 
	rule VARCHAR(40) NOT NULL, 
	severity VARCHAR(10) NOT NULL, 
	recipient TEXT NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	raised_on DATE NOT NULL, 
	created_at DATETIME NOT NULL, 
	sent_at DATETIME, 
	sent_via VARCHAR(20), 
	message_id TEXT, 
	subject TEXT, 
	PRIMARY KEY (alert_id), 
	FOREIGN KEY(case_id) REFERENCES safeguarding_cases (case_id), 
	FOREIGN KEY(finding_id) REFERENCES screening_findings (finding_id)
);

-- statement 64
CREATE INDEX ix_alerts_status ON alerts (status);

-- statement 65
CREATE INDEX ix_alerts_case ON alerts (case_id);

-- statement 66
CREATE TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    WHEN (SELECT count(*) FROM postings WHERE entry_id = NEW.entry_id) < 2
      OR (SELECT coalesce(sum(amount_pence), 0) FROM postings WHERE entry_id = NEW.entry_id) <> 0
    BEGIN
      SELECT RAISE(ABORT, 'careledger: journal entry does not balance (postings must sum to zero, at least two)');
    END;

-- statement 67
CREATE TRIGGER postings_entry_not_posted BEFORE INSERT ON postings
    WHEN EXISTS (SELECT 1 FROM journal_entries WHERE entry_id = NEW.entry_id)
    BEGIN
      SELECT RAISE(ABORT, 'careledger: journal entry is already posted; its postings cannot change');
    END;

-- statement 68
CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
        BEGIN
          SELECT RAISE(ABORT, 'careledger: UPDATE on journal_entries is refused: posted history is immutable; post a reversing entry instead');
        END;

-- statement 69
CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
        BEGIN
          SELECT RAISE(ABORT, 'careledger: DELETE on journal_entries is refused: posted history is immutable; post a reversing entry instead');
        END;

-- statement 70
CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
        BEGIN
          SELECT RAISE(ABORT, 'careledger: UPDATE on postings is refused: posted history is immutable; post a reversing entry instead');
        END;

-- statement 71
CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
        BEGIN
          SELECT RAISE(ABORT, 'careledger: DELETE on postings is refused: posted history is immutable; post a reversing entry instead');
        END;

-- statement 72
CREATE TRIGGER posting_batches_no_update BEFORE UPDATE ON posting_batches
        BEGIN
          SELECT RAISE(ABORT, 'careledger: UPDATE on posting_batches is refused: posted history is immutable; post a reversing entry instead');
        END;

-- statement 73
CREATE TRIGGER posting_batches_no_delete BEFORE DELETE ON posting_batches
        BEGIN
          SELECT RAISE(ABORT, 'careledger: DELETE on posting_batches is refused: posted history is immutable; post a reversing entry instead');
        END;
