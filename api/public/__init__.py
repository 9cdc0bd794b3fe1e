"""Public pages and what they read: search, recordings, embeds, exports, quotes, alert sign-up."""
