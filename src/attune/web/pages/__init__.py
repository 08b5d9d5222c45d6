"""The staff pages: thin views over the services and selectors (the same rules as the API)."""
