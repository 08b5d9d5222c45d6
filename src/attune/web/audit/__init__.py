"""The audit trail: who changed what, from what to what, when (UTC) and why; append-only, hash-chained."""
