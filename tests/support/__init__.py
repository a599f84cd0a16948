"""Helpers the tests share: repositories, SMTP and impact.com stand-ins."""
