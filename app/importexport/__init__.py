"""Files in and out of Hotline Console: the engineer's call ledger (``calls_io``)."""
