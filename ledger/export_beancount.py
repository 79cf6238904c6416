"""``careledger export beancount``: the ledger as a Beancount file, for an independent cross-check.

Why: a tool nobody here wrote (Beancount's ``bean-check``) then confirms that every transaction
balances and that each card's balance ties to the provider's own closing balance on every
statement date. Each provider closing balance for day D becomes a ``balance`` assertion dated D+1
(Beancount checks a balance at the *start* of its date), on the card's parent account, which
Beancount sums over the council and client sub-accounts. Beancount's default tolerance would let
a one-penny difference pass, so every assertion carries an explicit tolerance under a penny
(``~ 0.001``): zero pence, as reconciliation requires.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, text

from db.bulk import to_date
from schemas.money import pounds_plain as _pounds

ROOTS = {"asset": "Assets", "expense": "Expenses", "equity": "Equity", "income": "Income", "suspense": "Assets"}
ENTRIES_PER_CHUNK = 50_000


def _component(text_: str) -> str:
    """A valid Beancount account component: letters, digits and dashes, starting with a capital or digit."""
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "-", text_).strip("-") or "X"
    return cleaned[0].upper() + cleaned[1:]


def beancount_account(code: str, account_type: str, role: str) -> str:
    parts = code.split(":")
    if parts[0] == "card":
        return f"Assets:Card:{_component(parts[1] + '-' + parts[2])}:{_component(parts[3])}"
    if role == "suspense_card":
        return f"Assets:Suspense:{_component(parts[1] + '-' + parts[2])}"
    if role == "suspense":
        return f"Equity:Suspense:{_component(parts[1])}"
    root = ROOTS.get(account_type, "Equity")
    return root + ":" + ":".join(_component(p) for p in parts)


def card_parent(provider: str, account_id: str, known: bool) -> str:
    return f"Assets:Card:{_component(provider + '-' + account_id)}" if known else f"Assets:Suspense:{_component(provider + '-' + account_id)}"


def _quote(s: str | None) -> str:
    return '"' + (s or "").replace("\\", "\\\\").replace('"', "'") + '"'


def iter_beancount(conn: Connection) -> Iterator[str]:
    yield 'option "title" "careledger export"\noption "operating_currency" "GBP"\n'
    accounts = conn.execute(
        text(
            "SELECT a.code, a.account_type, a.role, min(p.london_date) FROM accounts a"
            " JOIN postings p ON p.account_code = a.code GROUP BY a.code, a.account_type, a.role ORDER BY a.code"
        )
    ).all()
    names = {}
    parents_opened: dict[str, dt.date] = {}
    for code, atype, role, opened in accounts:
        names[code] = beancount_account(code, atype, role)
        opened = to_date(opened)
        yield f"{opened.isoformat()} open {names[code]} GBP"
        if names[code].startswith("Assets:Card:"):
            parent = names[code].rsplit(":", 1)[0]
            parents_opened[parent] = min(opened, parents_opened.get(parent, opened))
    # Balance assertions name the card (the parent of its council and client parts): open it too.
    for parent, opened in sorted(parents_opened.items()):
        yield f"{opened.isoformat()} open {parent} GBP"
    yield ""
    last_id = 0
    while True:
        rows = conn.execute(
            text(
                "SELECT e.entry_id, e.london_date, e.entry_type, e.description, e.idempotency_key, p.account_code, p.amount_pence"
                " FROM journal_entries e JOIN postings p ON p.entry_id = e.entry_id"
                " WHERE e.entry_id > :last AND e.entry_id <= :hi ORDER BY e.entry_id, p.posting_id"
            ),
            {"last": last_id, "hi": last_id + ENTRIES_PER_CHUNK},
        ).all()
        if not rows:
            more = conn.execute(text("SELECT 1 FROM journal_entries WHERE entry_id > :l LIMIT 1"), {"l": last_id}).first()
            if more is None:
                break
            last_id += ENTRIES_PER_CHUNK
            continue
        current = None
        for entry_id, day, etype, desc, key, code, pence in rows:
            if entry_id != current:
                if current is not None:
                    yield ""
                current = entry_id
                yield f'{to_date(day).isoformat()} * {_quote(etype)} {_quote(desc)}\n  entry_id: "{entry_id}"\n  key: {_quote(key)}'
            yield f"  {names[code]}  {_pounds(pence)} GBP"
        yield ""
        last_id = int(rows[-1][0])
    known = {
        (p, a)
        for p, a in conn.execute(
            text("SELECT DISTINCT provider, provider_account_id FROM accounts WHERE role IN ('card_council', 'card_client')")
        ).all()
    }
    balances = conn.execute(
        text("SELECT provider, account_id, balance_date, closing_balance_pence FROM provider_balances ORDER BY balance_date, provider, account_id")
    ).all()
    # A card with no postings has no account to assert on (and nothing for the provider to hold).
    parents = {n.rsplit(":", 1)[0] for n in names.values() if n.startswith("Assets:Card:")}
    parents |= {n for n in names.values() if n.startswith("Assets:Suspense:")}
    for provider, account_id, day, pence in balances:
        parent = card_parent(provider, account_id, (provider, account_id) in known)
        if parent not in parents:
            continue
        yield f"{(to_date(day) + dt.timedelta(days=1)).isoformat()} balance {parent}  {_pounds(pence)} ~ 0.001 GBP"


def export_beancount(conn: Connection, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for line in iter_beancount(conn):
            fh.write(line + "\n")
    return path
