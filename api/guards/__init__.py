"""Request guards: rate limits, body limits, framing and security headers."""
