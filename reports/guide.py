"""Plain-English guide to each exception type: what it means and what to do.

Why here and not in the template: the HTML report, the XLSX workbook and docs/reports.md all say the
same thing, so it is written once. The audit team should be able to work from the report without
asking an engineer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Guide:
    title: str
    meaning: str
    action: str
    who: str = "Finance"
    sheet: str = ""  # short name for the workbook's sheet tab (31 characters at most)


GUIDE: dict[str, Guide] = {
    "balance_mismatch": Guide(
        "Card balance does not match the provider",
        "At the end of the day, the card provider's closing balance for a card differs from the balance our ledger "
        "holds, by the amount shown (provider minus ledger; a negative difference means the provider holds less). "
        "Where one provider item would account for the difference exactly it is named, with the likely cause.",
        "If a cause is named, follow it (load the missing item, check the amount with the provider, or wait for a "
        "pending item's settlement). If none is named, ask the provider for the card's statement for that day and "
        "compare it line by line with the statement of account from this system. The same difference repeats each "
        "day until it is fixed; fix the earliest day first.",
        sheet="Balance differences",
    ),
    "unknown_account": Guide(
        "Card not in the cardholder register",
        "The provider reports a card that no client in the council's cardholder register has. Its money is held in "
        "a suspense account in the ledger, so nothing is lost, but nobody is accountable for it yet.",
        "Find whose card it is (ask the provider) and add it to cardholders.csv, or ask the provider to close it.",
        sheet="Unknown cards",
    ),
    "missing_load": Guide(
        "Scheduled load not seen",
        "Finance scheduled a load for this client but no provider file shows it arriving on the card, past the "
        "date tolerance. The person may be without money for their care.",
        "Check the council's payment run and bank statement for the payment; chase the provider if it left the bank.",
        sheet="Missing loads",
    ),
    "late_load": Guide(
        "Load arrived late",
        "A scheduled load arrived more days after its due date than the council's tolerance allows.",
        "Check why the payment run was late and whether the person was left short; no money is missing.",
        sheet="Late loads",
    ),
    "duplicate_load": Guide(
        "Load paid twice",
        "A load repeats a scheduled load that another load already paid: the card received the money twice.",
        "Confirm with the bank statement, then recover the duplicate from the card (an unload).",
        sheet="Duplicate loads",
    ),
    "wrong_amount_load": Guide(
        "Load for the wrong amount",
        "A scheduled load arrived for a different amount from the schedule (the difference is shown).",
        "Recover the excess or load the shortfall, or correct the schedule if it was wrong.",
        sheet="Wrong-amount loads",
    ),
    "unexpected_load": Guide(
        "Load not on the schedule",
        "Money arrived on a card from the council's funding account that matches no scheduled load.",
        "Find who authorised it; add it to the schedule, or recover it if it was a mistake.",
        sheet="Unexpected loads",
    ),
    "missing_file": Guide(
        "Provider file not received",
        "A card provider has not sent its transactions or balances file for a day (or the file was refused). "
        "That day's items for the provider's cards are not in the ledger and balances cannot be checked.",
        "Ask the provider for the file. When it is loaded, the day is reconciled again and this closes by itself.",
        sheet="Missing files",
    ),
    "late_file": Guide(
        "Provider file arrived late",
        "A provider's file for a day arrived with a later day's files. It is loaded and the day was reconciled "
        "again; this is kept so that late providers are visible.",
        "Nothing, unless the same provider is often late: then raise it at the contract meeting.",
        sheet="Late files",
    ),
    "quarantined_row": Guide(
        "Provider row held in quarantine",
        "A row in a provider file could not be read (a bad date, amount or type) and is held aside with its file, "
        "line and reason. Its money is not in the ledger.",
        "Ask the provider for a corrected file, or correct the row; then load it again.",
        sheet="Quarantined rows",
    ),
    "conflict": Guide(
        "Provider sent different details for the same item",
        "The provider sent an item again with different details (usually the amount). The first version stands "
        "in the ledger; the new one is held for review.",
        "Ask the provider which version is right; if it is the new one, correct the ledger with a reversal.",
        sheet="Conflicts",
    ),
    "other_money_in": Guide(
        "Money in from someone else",
        "Money was paid onto a person's card that is neither a council load nor their assessed contribution "
        "(a contribution with a mistyped reference looks like this too). A question for audit, not a verdict.",
        "Ask who paid it and why; mark it explained with a note.",
        who="Audit",
        sheet="Other money in",
    ),
    "contribution_arrears": Guide(
        "Contributions not paid",
        "The person's assessed contributions have not been paid onto the card for several weeks.",
        "Contact the person or their representative about the arrears.",
        sheet="Contribution arrears",
    ),
    "unmatched_unload": Guide(
        "Approved unload not seen",
        "An approved clawback unload has not been seen on the card within the expected time.",
        "Check the clawback instruction with the provider.",
        sheet="Unmatched unloads",
    ),
}

SECTION_TITLES: dict[str, tuple[str, str]] = {
    "new": ("New this run", "Raised for the first time by this run."),
    "carried": ("Carried forward", "Raised by an earlier run and still open: the age column says for how many days."),
    "closed": (
        "Closed this run",
        "Closed by this run: automatically because the check no longer finds them (for example a late file arrived), "
        "recorded already closed (late files), or by a person with a note.",
    ),
}


def guide_for(exception_type: str) -> Guide:
    name = exception_type.replace("_", " ").capitalize()
    return GUIDE.get(exception_type, Guide(name, "See the explanation on each row.", "Follow the explanation.", sheet=name[:31]))
