"""Goal: on a simulated council (200 clients, 8 weeks, all three providers) the weekly clawback and
contribution runs work end to end on the real ingest path and agree with the simulator's ground
truth: every planted contribution case is found, no other client gets an arrears exception, every
instruction is matched to its unload, and re-running an approved week changes nothing."""

from __future__ import annotations

import pytest

from clawback import run
from tests.clawback import sim_e2e


@pytest.mark.slow
def test_simulated_council_end_to_end(tmp_path):
    out = tmp_path / "e2e"
    r = sim_e2e.main(["--clients", "200", "--weeks", "8", "--out", str(out), "--action-unloads", "--seed", "7"])
    recall = r["contribution_recall"]
    assert recall["detectable_cases"] >= 1
    assert recall["detectable_found"] == recall["detectable_cases"]
    assert r["false_positive_clients"] == []
    weeks = r["weekly"]
    assert len(weeks) == 8
    # every instruction issued one week is matched the next (the provider carried them out)
    for before, after in zip(weeks, weeks[1:], strict=False):
        assert after["unload_matching"]["matched"] == before["issued"]
        assert after["unload_matching"]["overdue"] == 0
    share = weeks[-1]["scheduled_share_of_loads_to_date"]
    assert share is not None and 0 < share < 0.5
    # re-running an approved week reproduces it exactly
    url = f"sqlite:///{out / 'e2e.db'}"
    again = run.compute_schedule(url, "2026-W12", out / "again")["councils"]["Testshire"]
    assert again["status"] == "approved" and again["changed"] is False
    assert again["total_to_recover_pence"] == weeks[2]["total_to_recover_pence"]
