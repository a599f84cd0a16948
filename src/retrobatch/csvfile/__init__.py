"""The CSV engine: streaming records, templates compiled from schemas, validation."""
