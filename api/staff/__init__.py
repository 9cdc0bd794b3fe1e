"""Staff pages: sign-in, recordings, the transcript editor, jobs, uploads, admin, tokens."""
