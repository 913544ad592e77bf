"""The exceptions weightguard raises."""

from typing import Optional

__all__ = ["WeightguardError", "UsageError"]


class WeightguardError(Exception):
    """A file could not be read or decided on: a malformed weight file, a missing path, a
    training record, policy or licences file that does not parse.

    ``str(error)`` is the message the CLI prints after ``error:``; the attributes give its parts:

    - ``file``: the file it is about (``None`` when it is about no one file);
    - ``reason``: what was wrong, without the file;
    - ``hint``: what to do about it, or ``None``.
    """

    def __init__(
        self,
        message: str,
        file: Optional[str] = None,
        reason: Optional[str] = None,
        hint: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.reason = message if reason is None else reason
        self.hint = hint


class UsageError(WeightguardError, ValueError):
    """An argument's value the CLI would refuse as a usage error (exit 2): a destination that
    is not an ISO 3166-1 alpha-2 code, a date that is not YYYY-MM-DD, a count that is not one."""
