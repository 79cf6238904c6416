"""Goal: the workspace's pure parts do what the pages rely on: settings from a file and the environment
(refusing what cannot be used), the chart's bars, highlights and shaded stays, life events into periods,
London times across the clock change, and the rule titles people read."""

from __future__ import annotations

import datetime as dt

import pytest

from screening.rule_titles import RULE_TITLES, rule_title
from screening.rules import EXTERNAL_RULES, RULE_NAMES
from workspace.charts import HIGHLIGHT, daily_bars
from workspace.config import ConfigError, load_config
from workspace.formatting import london_time
from workspace.pages.cases import life_event_bands

KEY = "k" * 40


def test_settings_from_file_then_environment(tmp_path):
    path = tmp_path / "workspace.toml"
    path.write_text(f'[workspace]\nsecret_key = "{KEY}"\nbase_url = "https://care.example"\nsession_idle_minutes = 20\n')
    config = load_config({"CARELEDGER_WORKSPACE_CONFIG": str(path), "CARELEDGER_WORKSPACE_SESSION_IDLE_MINUTES": "5"})
    assert config.session_idle_minutes == 5 and config.base_url == "https://care.example" and config.cookies_secure
    assert not load_config({"CARELEDGER_WORKSPACE_SECRET_KEY": KEY}).cookies_secure
    assert load_config({"CARELEDGER_WORKSPACE_SECRET_KEY": KEY, "CARELEDGER_WORKSPACE_SECURE_COOKIES": "yes"}).cookies_secure


@pytest.mark.parametrize("env, message", [
    ({}, "no secret key"),
    ({"CARELEDGER_WORKSPACE_SECRET_KEY": "short"}, "at least 32 characters"),
    ({"CARELEDGER_WORKSPACE_SECRET_KEY": KEY, "CARELEDGER_WORKSPACE_LOCK_MINUTES": "soon"}, "whole number"),
    ({"CARELEDGER_WORKSPACE_SECRET_KEY": KEY, "CARELEDGER_WORKSPACE_LOCK_MINUTES": "0"}, "at least 1"),
])
def test_settings_that_cannot_be_used_are_refused(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env)


def test_unknown_setting_in_the_file_is_refused(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(f'[workspace]\nsecret_key = "{KEY}"\nsesion_idle_minutes = 5\n')
    with pytest.raises(ConfigError, match="unknown workspace setting"):
        load_config({"CARELEDGER_WORKSPACE_CONFIG": str(path)})


def test_demo_makes_a_key():
    assert len(load_config({}, demo=True).secret_key) >= 32


def test_chart_draws_a_bar_per_day_with_money_and_marks_evidence_and_stays():
    days = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(10)]
    spent = [0, 500, 0, 0, 12_000, 0, 0, 0, 300, 0]
    svg = str(daily_bars(days, {"Spent": spent}, title="Money spent", highlight=frozenset({days[4]}),
                         bands=[(days[3], days[6], "In hospital")]))
    assert svg.count("<rect") == 3 + 1  # three days with money, one shaded stay
    assert svg.count(f'fill="{HIGHLIGHT}"') == 1 and "In hospital" in svg
    assert "Thu 5 Mar: Spent £120.00" in svg  # each bar says its day and amount
    assert "£200.00" in svg  # the axis rounds up to a clear top
    assert "<script" not in svg and "style=" not in svg  # nothing the CSP would block


def test_life_events_become_periods():
    d = dt.date
    events = [{"event": "hospital_admission", "date": d(2026, 3, 3)}, {"event": "hospital_discharge", "date": d(2026, 3, 9)},
              {"event": "respite_start", "date": d(2026, 3, 20)}, {"event": "deceased", "date": d(2026, 4, 2)}]
    assert life_event_bands(events, d(2026, 4, 10)) == [
        (d(2026, 3, 3), d(2026, 3, 9), "In hospital"), (d(2026, 3, 20), d(2026, 4, 10), "In respite"),
        (d(2026, 4, 2), d(2026, 4, 10), "After death")]


def test_london_time_follows_the_clock_change():
    assert london_time(dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC)) == "Sat 28 Mar 2026, 12:00"  # GMT
    assert london_time(dt.datetime(2026, 3, 30, 12, 0, tzinfo=dt.UTC)) == "Mon 30 Mar 2026, 13:00"  # BST


def test_every_rule_has_a_plain_english_title():
    assert set(RULE_TITLES) == set(RULE_NAMES) | set(EXTERNAL_RULES)
    assert all("_" not in title and title[0].isupper() for title in RULE_TITLES.values())
    assert rule_title("some_new_rule") == "some new rule"
