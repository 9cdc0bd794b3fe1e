"""Alert subscriptions, evaluation and mail."""
