"""ePRO: participants answer their own questionnaires by a private, expiring link, without an account."""
