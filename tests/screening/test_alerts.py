"""Alert e-mails over a real SMTP conversation (aiosmtpd on a free local port): received once, by the right
lead (or the council's mailbox), with the explanation and evidence, no names and only last-4 account digits."""

from __future__ import annotations

import datetime as dt
import email
import json
import socket
import threading
import time
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from db.engine import get_engine
from screening.alerts import SmtpSettings, load_smtp_settings, send_pending_alerts, smtp_settings_from_env
from screening.run import screen_days
from screening.tables import alerts, case_events
from tests.screening.builders import seed_two_findings

D = dt.date


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        msg = email.message_from_bytes(envelope.content, policy=email_policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, SmtpSettings(host="127.0.0.1", port=port, from_addr="careledger@testshire.example")
    finally:
        controller.stop()


def test_alerts_sent_once_to_the_right_lead_with_least_data(db_url, smtp_server, tmp_path):
    sink, settings = smtp_server
    seed_two_findings(db_url)
    screen_days(db_url, D(2026, 3, 1), D(2026, 3, 7))
    result = send_pending_alerts(db_url, settings, outbox_dir=tmp_path / "outbox")
    assert result["sent"] == 2 and result["written"] == 2 and not result["failed"]
    by_rcpt = {tuple(rcpts): msg for _, rcpts, msg in sink.messages}
    assert set(by_rcpt) == {("lead.north@testshire.example",), ("safeguarding@testshire.example",)}  # lead, then fallback
    restricted = by_rcpt[("lead.north@testshire.example",)]
    body = restricted.get_content()
    assert "restricted_mcc" in restricted["Subject"] and "client C001" in restricted["Subject"]
    assert "£23.40" in body and "alcohol (MCC 5921)" in body and "A:A77001" in body and "WINE RACK 12" in body
    assert "card account ending C001" in body and "1000C001" not in body
    payment = by_rcpt[("safeguarding@testshire.example",)].get_content()
    assert "payee account ending 4444" in payment and "33334444" not in payment
    assert "KEVIN" not in payment.upper() and "SMITH" not in payment.upper()  # no payee name
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir())[0].endswith(".eml")
    # Sending again sends nothing: each alert goes once.
    again = send_pending_alerts(db_url, settings)
    assert again["pending"] == 0 and len(sink.messages) == 2
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(alerts.c.status, alerts.c.sent_via, alerts.c.message_id)).all()
        assert all(r[0] == "sent" and r[1] == "smtp" and r[2] for r in rows)
        assert conn.execute(select(case_events.c.action).where(case_events.c.action == "alert_sent")).all() != []


def test_senders_running_at_once_send_each_alert_once(db_url, smtp_server):
    # Goal: two overlapping runs (a retried Airflow task next to a manual `careledger alerts send`)
    # never e-mail a lead twice about the same thing. The SMTP server is slow, so the runs overlap.
    sink, settings = smtp_server
    handle = sink.handle_DATA

    async def slow(server, session, envelope):
        time.sleep(0.3)
        return await handle(server, session, envelope)

    sink.handle_DATA = slow
    seed_two_findings(db_url)
    screen_days(db_url, D(2026, 3, 1), D(2026, 3, 7))
    results: list[dict] = []
    start = threading.Barrier(4)

    def send() -> None:
        start.wait()
        results.append(send_pending_alerts(db_url, settings))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 4
    # The runs overlapped: at least two saw both alerts pending (on a loaded machine a thread can start
    # late, after another has sent one; the claim must still hold for the ones that overlapped).
    assert sum(r["pending"] == 2 for r in results) >= 2, results
    assert sum(r["sent"] for r in results) == 2
    assert len(sink.messages) == 2, [m[2]["Subject"] for m in sink.messages]


def test_outbox_only_without_smtp(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.delenv("CARELEDGER_SMTP_HOST", raising=False)
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    seed_two_findings(sqlite_url)
    screen_days(sqlite_url, D(2026, 3, 1), D(2026, 3, 7))
    with pytest.raises(RuntimeError, match="SMTP"):
        send_pending_alerts(sqlite_url)
    result = send_pending_alerts(sqlite_url, outbox_dir=tmp_path)
    assert result["written"] == 2 and result["sent"] == 0
    msg = email.message_from_bytes(sorted(tmp_path.iterdir())[0].read_bytes(), policy=email_policy.default)
    assert msg["Subject"] == "[careledger] medium: restricted_mcc, client C001, case 1"
    assert msg["To"] == "lead.north@testshire.example" and "£23.40" in msg.get_content()


def test_smtp_settings_from_env():
    s = smtp_settings_from_env({"CARELEDGER_SMTP_HOST": "mail.example", "CARELEDGER_SMTP_PORT": "587",
                                "CARELEDGER_SMTP_FROM": "dp@example", "CARELEDGER_SMTP_STARTTLS": "true",
                                "CARELEDGER_SMTP_USER": "u", "CARELEDGER_SMTP_PASSWORD": "p"})
    assert s == SmtpSettings("mail.example", 587, "dp@example", True, "u", "p")
    assert smtp_settings_from_env({}) is None


def test_smtp_settings_from_airflow_connection(monkeypatch):
    """Under Airflow the settings come from the smtp_default connection (here from its environment variable)."""
    monkeypatch.delenv("CARELEDGER_SMTP_HOST", raising=False)
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "card_feeds_daily")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps({"conn_type": "smtp", "host": "mail.council.example", "port": 587, "login": "dp-user",
                    "password": "secret-pw", "extra": {"from_email": "dp@council.example"}}),
    )
    assert load_smtp_settings() == SmtpSettings("mail.council.example", 587, "dp@council.example", True, "dp-user", "secret-pw")
