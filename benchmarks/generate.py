"""A fast bulk generator of one busy day in FEEDS.md's formats, for the benchmark.

Why not the simulator: the simulator writes weeks of realistic, planted behaviour and is tuned for
correctness cases; the benchmark needs one day of 1,000,000 provider transactions across 100,000
cards, written in seconds. Same formats (Provider A CSV, Provider B JSON lines, Provider C Open
Banking bodies, the council's files), vectorised with polars.

Every card's closing balance equals its take-on balance plus the day's settled items, so a clean
benchmark day reconciles to the penny and screening has a normal day to look at.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

COUNCIL = "Benchshire"
FUNDING = ("401122", "90001234")
SHARES = {"A": 0.40, "B": 0.35, "C": 0.25}
MCCS = np.array(["5411", "5912", "4111", "5812", "5311", "5499", "4121", "7230"])
MERCHANTS = np.array(["TESCO STORES", "BOOTS", "TFL TRAVEL", "GREGGS", "ASDA", "CO-OP", "TAXI CO", "HAIR SALON"])

COUNCILS_YAML = f"""councils:
  - name: {COUNCIL}
    funding_account: {{sort_code: "{FUNDING[0]}", account_number: "{FUNDING[1]}"}}
    default_contingency_weeks: 6
    starter_float_weeks: 8
    clawback_minimum: 50.00
    clawback_weekday: Wednesday
    restricted_mcc_groups: [alcohol, tobacco, gambling, adult, pawn, quasi_cash, money_transfer]
    cash: {{allowed_by_default: false, daily_atm_limit: 250.00}}
    safeguarding_mailbox: safeguarding@benchshire.example
    finance_mailbox: dp-finance@benchshire.example
    thresholds: {{}}
"""


@dataclass
class BenchDay:
    folder: Path
    day: dt.date
    cards: int
    transactions: int
    per_provider: dict[str, int]
    closing_pence: np.ndarray  # each card's closing balance, in cardholder order (opening of the next day)
    opening_pence: np.ndarray  # each card's balance before the day (take-on, or the previous closing)
    schedule: pl.DataFrame  # the day's loads as the council scheduled them: client_id, due_date, amount_pence, reference
    holders: pl.DataFrame  # provider, account_id, client_id in cardholder order


def _pounds(pence: pl.Expr) -> pl.Expr:
    """Pence as FEEDS.md pounds text with two decimals (no thousands separator needed for the bench)."""
    return (pence // 100).cast(pl.Utf8) + "." + (pence % 100).cast(pl.Utf8).str.zfill(2)


def _cards(cards: int) -> pl.DataFrame:
    n = {p: int(cards * s) for p, s in SHARES.items()}
    n["C"] = cards - n["A"] - n["B"]
    frames = []
    start = 0
    for provider, count in n.items():
        idx = np.arange(start, start + count)
        if provider == "A":
            acct = [f"{20_000_000 + i}" for i in idx]
        elif provider == "B":
            acct = [f"ct_{i:07x}" for i in idx]
        else:
            acct = [f"acc-{i:07d}" for i in idx]
        frames.append(pl.DataFrame({"provider": provider, "account_id": acct, "client_id": [f"BC{i:07d}" for i in idx]}))
        start += count
    return pl.concat(frames)


def generate_day(
    out: Path,
    *,
    cards: int = 100_000,
    transactions: int = 1_000_000,
    day: dt.date = dt.date(2026, 3, 4),
    seed: int = 1,
    opening_pence: np.ndarray | None = None,
    earlier_schedule: pl.DataFrame | None = None,
) -> BenchDay:
    """Write one drop folder ``out/YYYYMMDD`` and return what is in it.

    ``opening_pence`` continues a history: each card's balance from the day before (else a random
    take-on balance). Item ids carry the day, so a long history never repeats an id.

    Every load is one the council scheduled for the day (load_schedule.csv, reference on the load), as
    in a well-run scheme; ``earlier_schedule`` adds earlier days' rows to the council's file (it sends its
    full schedule), so a long history's loads still match theirs.
    """
    rng = np.random.default_rng(seed)
    folder = out / day.strftime("%Y%m%d")
    folder.mkdir(parents=True, exist_ok=True)
    holders = _cards(cards)
    take_on = rng.integers(50_000, 400_000, holders.height) if opening_pence is None else opening_pence
    holders = holders.with_columns(pl.Series("take_on_pence", take_on))

    # Transactions: each card gets ~transactions/cards items; about 1 in 8 cards a load, the rest spend.
    owner = rng.integers(0, holders.height, transactions)
    is_load = rng.random(transactions) < 0.03
    amount = np.where(is_load, rng.integers(20_000, 120_000, transactions), -rng.integers(100, 4_000, transactions))
    seconds = np.sort(rng.integers(6 * 3600, 22 * 3600, transactions))
    mcc_ix = rng.integers(0, len(MCCS), transactions)
    tx = pl.DataFrame(
        {
            "row": [f"{day:%y%m%d}-{i}" for i in range(transactions)],
            "card": owner,
            "amount_pence": amount,
            "seconds": seconds,
            "is_load": is_load,
            "mcc": MCCS[mcc_ix],
            "merchant": MERCHANTS[mcc_ix],
        }
    ).join(holders.with_row_index("card").with_columns(pl.col("card").cast(pl.Int64)), on="card")
    tx = tx.sort("seconds", "card", "row").with_columns(
        (pl.col("take_on_pence") + pl.col("amount_pence").cum_sum().over("card")).alias("balance_after_pence"),
        ("LD" + pl.col("row")).alias("load_ref"),
    )
    schedule = tx.filter(pl.col("is_load")).select(
        "client_id", pl.lit(day).alias("due_date"), "amount_pence", pl.col("load_ref").alias("reference")
    )
    _write_council_files(folder, holders, day, schedule if earlier_schedule is None else pl.concat([earlier_schedule, schedule]))
    per: dict[str, int] = {}
    for provider in ("A", "B", "C"):
        part = tx.filter(pl.col("provider") == provider)
        per[provider] = part.height
        {"A": _write_a, "B": _write_b, "C": _write_c}[provider](folder, part, day)
    closing = holders.join(
        tx.group_by("provider", "account_id").agg(pl.col("amount_pence").sum().alias("day_pence")),
        on=["provider", "account_id"],
        how="left",
        maintain_order="left",
    ).with_columns((pl.col("take_on_pence") + pl.col("day_pence").fill_null(0)).alias("closing_pence"))
    _write_balances(folder, closing, day)
    return BenchDay(
        folder, day, cards, transactions, per, closing["closing_pence"].to_numpy(), np.asarray(take_on), schedule,
        holders.select("provider", "account_id", "client_id"),
    )


def _write_council_files(folder: Path, holders: pl.DataFrame, day: dt.date, schedule: pl.DataFrame) -> None:
    (folder / "councils.yaml").write_text(COUNCILS_YAML, encoding="utf-8")
    opened = (day - dt.timedelta(days=400)).isoformat()
    holders.select(
        "client_id",
        pl.lit(COUNCIL).alias("council"),
        "provider",
        "account_id",
        pl.lit(opened).alias("opened"),
        pl.lit("").alias("closed"),
        pl.lit("250.00").alias("weekly_budget"),
        pl.lit("").alias("contingency_weeks"),
        pl.lit("N").alias("cash_allowed"),
        pl.lit("").alias("cash_weekly_limit"),
        pl.lit("none").alias("contribution_model"),
        pl.lit("Bench").alias("team"),
        pl.lit("").alias("safeguarding_email"),
    ).write_csv(folder / "cardholders.csv")
    for name, header in {
        "payees.csv": "client_id,payee_name,sort_code,account_number,kind,approved_from,approved_to",
        "contributions.csv": "client_id,weekly_amount,effective_from,effective_to,reference",
        "client_events.csv": "client_id,event,date",
        "commitments.csv": "client_id,due_date,amount,description",
    }.items():
        (folder / name).write_text(header + "\n", encoding="utf-8")
    schedule.select(
        "client_id", pl.col("due_date").dt.strftime("%Y-%m-%d"), _pounds(pl.col("amount_pence")).alias("amount"), "reference"
    ).write_csv(folder / "load_schedule.csv")


def _write_a(folder: Path, part: pl.DataFrame, day: dt.date) -> None:
    d = day.strftime("%d/%m/%Y")
    hh = (pl.col("seconds") // 3600).cast(pl.Utf8).str.zfill(2)
    mm = (pl.col("seconds") % 3600 // 60).cast(pl.Utf8).str.zfill(2)
    ss = (pl.col("seconds") % 60).cast(pl.Utf8).str.zfill(2)
    out = part.select(
        pl.col("account_id").alias("Account Number"),
        ("AB" + pl.col("row")).alias("Transaction ID"),
        (pl.lit(d + " ") + hh + ":" + mm + ":" + ss).alias("Transaction Date"),
        pl.lit(d).alias("Posted Date"),
        pl.when(pl.col("is_load")).then(pl.lit("LOAD")).otherwise(pl.lit("POS")).alias("Type"),
        pl.when(pl.col("is_load")).then(pl.lit("Council load")).otherwise(pl.lit("Card purchase")).alias("Description"),
        pl.when(pl.col("is_load")).then(None).otherwise(pl.col("merchant")).alias("Merchant Name"),
        pl.when(pl.col("is_load")).then(None).otherwise(pl.col("mcc")).alias("MCC"),
        pl.when(pl.col("is_load")).then(_pounds(pl.col("amount_pence"))).otherwise(None).alias("Money In"),
        pl.when(pl.col("is_load")).then(None).otherwise(_pounds(-pl.col("amount_pence"))).alias("Money Out"),
        _balance_text(pl.col("balance_after_pence")).alias("Balance"),
        pl.lit("SETTLED").alias("Status"),
        pl.lit(None, dtype=pl.Utf8).alias("Related Transaction ID"),
        pl.lit(None, dtype=pl.Utf8).alias("Payee Name"),
        pl.lit(None, dtype=pl.Utf8).alias("Payee Sort Code"),
        pl.lit(None, dtype=pl.Utf8).alias("Payee Account Number"),
        pl.when(pl.col("is_load")).then(pl.col("load_ref")).otherwise(None).alias("Reference"),
    )
    out.write_csv(folder / f"A_transactions_{day:%Y%m%d}.csv", line_terminator="\r\n")


def _balance_text(pence: pl.Expr) -> pl.Expr:
    return pl.when(pence < 0).then("-" + _pounds(-pence)).otherwise(_pounds(pence))


def _write_b(folder: Path, part: pl.DataFrame, day: dt.date) -> None:
    iso = day.isoformat()
    created = pl.lit(iso + "T") + (pl.col("seconds") // 3600).cast(pl.Utf8).str.zfill(2) + ":" + (
        pl.col("seconds") % 3600 // 60
    ).cast(pl.Utf8).str.zfill(2) + ":" + (pl.col("seconds") % 60).cast(pl.Utf8).str.zfill(2) + "Z"
    acceptor = pl.when(pl.col("is_load")).then(None).otherwise(
        pl.struct(
            pl.col("mcc").alias("mcc"),
            pl.col("merchant").alias("name"),
            pl.lit("SALFORD").alias("city"),
            pl.lit("GBR").alias("country_code"),
        )
    )
    out = part.select(
        ("bb-" + pl.col("row")).alias("token"),
        pl.col("account_id").alias("card_token"),
        pl.when(pl.col("is_load")).then(pl.lit("gpa.credit")).otherwise(pl.lit("authorization.clearing")).alias("type"),
        pl.lit("COMPLETION").alias("state"),
        pl.col("amount_pence").abs().alias("amount_minor"),
        pl.lit("GBP").alias("currency"),
        created.alias("created_time"),
        pl.lit(iso).alias("settlement_date"),
        pl.lit(None, dtype=pl.Utf8).alias("preceding_related_token"),
        acceptor.alias("card_acceptor"),
        pl.lit(None, dtype=pl.Utf8).alias("counterparty"),
        pl.when(pl.col("is_load")).then(pl.col("load_ref")).otherwise(pl.lit("")).alias("memo"),
        pl.col("balance_after_pence").alias("balance_after_minor"),
    )
    out.write_ndjson(folder / f"B_events_{day:%Y%m%d}.jsonl")


def _write_c(folder: Path, part: pl.DataFrame, day: dt.date) -> None:
    iso = day.isoformat()
    items = []
    cols = ("row", "account_id", "amount_pence", "seconds", "is_load", "mcc", "merchant", "balance_after_pence", "load_ref")
    for r in part.select(cols).iter_rows():
        row, acct, pence, secs, is_load, mcc, merchant, bal, load_ref = r
        when = f"{iso}T{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}+00:00"
        item = {
            "AccountId": acct,
            "TransactionId": f"cb-{row}",
            "CreditDebitIndicator": "Credit" if is_load else "Debit",
            "Status": "Booked",
            "BookingDateTime": when,
            "ValueDateTime": when,
            "Amount": {"Amount": f"{abs(pence) // 100}.{abs(pence) % 100:02d}", "Currency": "GBP"},
            "TransactionInformation": "Council load" if is_load else merchant,
            "Balance": {
                "Amount": {"Amount": f"{abs(bal) // 100}.{abs(bal) % 100:02d}", "Currency": "GBP"},
                "CreditDebitIndicator": "Credit" if bal >= 0 else "Debit",
                "Type": "InterimBooked",
            },
        }
        if is_load:
            item["TransactionReference"] = load_ref
            item["DebtorAccount"] = {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": FUNDING[0] + FUNDING[1], "Name": COUNCIL}
        else:
            item["MerchantDetails"] = {"MerchantName": merchant, "MerchantCategoryCode": mcc}
        items.append(item)
    body = {"Data": {"Transaction": items}, "Links": {"Self": "https://bank.example/accounts/transactions"}, "Meta": {"TotalPages": 1}}
    (folder / f"C_transactions_{day:%Y%m%d}.json").write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")


def _write_balances(folder: Path, closing: pl.DataFrame, day: dt.date) -> None:
    d = day.strftime("%d/%m/%Y")
    a = closing.filter(pl.col("provider") == "A")
    a.select(
        pl.col("account_id").alias("Account Number"),
        pl.lit(d).alias("Balance Date"),
        _balance_text(pl.col("closing_pence")).alias("Closing Balance"),
        _balance_text(pl.col("closing_pence")).alias("Available Balance"),
    ).write_csv(folder / f"A_balances_{day:%Y%m%d}.csv", line_terminator="\r\n")
    closing.filter(pl.col("provider") == "B").select(
        pl.col("account_id").alias("card_token"),
        pl.lit(day.isoformat()).alias("as_of_date"),
        pl.col("closing_pence").alias("ledger_balance_minor"),
        pl.col("closing_pence").alias("available_balance_minor"),
    ).write_ndjson(folder / f"B_balances_{day:%Y%m%d}.jsonl")
    balances = [
        {
            "AccountId": acct,
            "Amount": {"Amount": f"{abs(p) // 100}.{abs(p) % 100:02d}", "Currency": "GBP"},
            "CreditDebitIndicator": "Credit" if p >= 0 else "Debit",
            "Type": "ClosingBooked",
            "DateTime": f"{day.isoformat()}T23:59:59+00:00",
        }
        for acct, p in closing.filter(pl.col("provider") == "C").select("account_id", "closing_pence").iter_rows()
    ]
    body = {"Data": {"Balance": balances}, "Links": {"Self": "https://bank.example/balances"}, "Meta": {"TotalPages": 1}}
    (folder / f"C_balances_{day:%Y%m%d}.json").write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
