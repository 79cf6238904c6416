"""The shared records: canonical transactions, the feed register, balances, reference extracts (``records.tables``)."""
