"""The program's own failures. Problems in user data are findings, never these."""

from __future__ import annotations


class RetrobatchError(Exception):
    """A failure the CLI reports as one line; `exit_code` follows the contract."""

    exit_code = 2


class UsageError(RetrobatchError):
    """The command could not run: bad arguments, no repository, missing settings (exit 2)."""


class OperationFailed(RetrobatchError):
    """A send, push or fetch that failed after the command started (exit 1)."""

    exit_code = 1
