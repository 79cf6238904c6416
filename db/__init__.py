"""The database underneath every layer: engines, bulk writes and reads, locks, the write-ahead log."""
