"""One-line error messages.

Every error the user can fix is reported as one line naming the file and the reason;
:func:`first_line` turns an exception from a library (safetensors, torch, Lightning),
whose message may span lines or be empty, into that reason. Imports nothing, so the
torch-free parts (``ltm.pvq``, ``ltm data``) use it too.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix (a bad file, a bad argument): the ``ltm`` command prints
    it as one line ``ltm: ...`` and exits with status 1."""


def first_line(e: BaseException, limit: int = 200) -> str:
    """The first non-empty line of ``e``'s message, at most ``limit`` characters, or the
    exception's class name when the message is empty."""
    for line in str(e).splitlines():
        if line.strip():
            return line.strip()[:limit]
    return type(e).__name__
