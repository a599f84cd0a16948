"""`retrobatch run` and `resolve`: the message, its parts, the SMTP session."""
