"""Staff pages, access rules, editing and the CLI for accounts."""
