"""Who may do what: staff accounts, sessions, API tokens and API keys."""
