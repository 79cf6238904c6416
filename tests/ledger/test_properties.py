"""Goal: ledger laws hold for any sequence of valid postings (hypothesis).

* the trial balance stays at zero;
* reversing an entry restores every balance;
* re-posting any subset of keys changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.engine import get_engine
from ledger.corrections import reverse_entry
from ledger.journal import post_entries
from ledger.queries import balances
from ledger.verify import verify_ledger
from tests.conftest import migrate
from tests.ledger import factories as f

CODES = [a.code for a in f.ALL]

# An entry: 2..4 postings on distinct accounts, the last one closing the entry to zero.
entry_st = st.lists(
    st.tuples(st.sampled_from(range(len(CODES))), st.integers(min_value=1, max_value=10_000_000)),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
).map(lambda lines: lines)


def _make(i: int, lines: list[tuple[int, int]]):
    used = {CODES[a] for a, _ in lines}
    closer = next(c for c in CODES if c not in used)
    signed = [(CODES[a], p if (a + i) % 2 else -p) for a, p in lines]
    total = sum(p for _, p in signed)
    if total:
        signed.append((closer, -total))
    if len(signed) < 2:
        signed.append((closer, -signed[0][1]))
        signed[0] = (signed[0][0], signed[0][1])
    return f.entry(f"K{i}", signed, dt.date(2026, 3, 1) + dt.timedelta(days=i % 20))


def _fresh_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('prop') / (uuid.uuid4().hex + '.db')}"
    migrate(url)
    return url


def _balances(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        return dict(balances(conn).select("code", "balance_pence").iter_rows())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(entry_st, min_size=1, max_size=30), subset=st.sets(st.integers(0, 29)), data=st.data())
def test_ledger_laws(tmp_path_factory, entries, subset, data):
    url = _fresh_db(tmp_path_factory)
    items = [_make(i, lines) for i, lines in enumerate(entries)]
    with get_engine(url).begin() as conn:
        post_entries(conn, *f.batch(items), f.accounts(), source="prop")
    after_post = _balances(url)
    assert sum(after_post.values()) == 0

    again = [items[i] for i in sorted(subset) if i < len(items)]
    if again:
        with get_engine(url).begin() as conn:
            res = post_entries(conn, *f.batch(again), f.accounts(), source="prop")
        assert res.posted == 0 and res.already_posted == len(again)
    assert _balances(url) == after_post

    victim = data.draw(st.integers(1, len(items)))
    victim_lines = dict(items[victim - 1][1] and [(c, p) for _, c, p in items[victim - 1][1]])
    with get_engine(url).begin() as conn:
        reverse_entry(conn, victim, reason="property test", on_date=dt.date(2026, 4, 1))
    restored = _balances(url)
    for code, bal in after_post.items():
        assert restored[code] == bal - victim_lines.get(code, 0)
    with get_engine(url).connect() as conn:
        report = verify_ledger(conn)
    assert report.ok, report.problems
    get_engine(url).dispose()
