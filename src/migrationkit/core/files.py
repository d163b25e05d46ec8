"""Files and folders that only their owner can read: reports, state stores, error files.

What a migration leaves on disk is a company's books (names, amounts, bank details): folders are
created ``0700`` and files ``0600``, whatever the process's umask says. Folders that exist
already are left as they are (they are the user's); the ones created here are owner-only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["DIR_MODE", "FILE_MODE", "open_private", "private_dir", "write_private"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and any missing parents, each owner-only; the path."""
    folder = Path(path)
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for made in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            made.mkdir(mode=DIR_MODE)
            os.chmod(made, DIR_MODE)  # mkdir's mode is cut by the umask
    return folder


@contextlib.contextmanager
def open_private(
    path: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = "utf-8", **kwargs: str
) -> Iterator[IO[str]]:
    """:func:`open` for writing (``"w"`` or ``"a"``), the file created or made ``0600``."""
    target = Path(path)
    private_dir(target.parent)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(target, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an older file, or one the umask cut, becomes owner-only
        handle = os.fdopen(fd, mode, encoding=encoding, **kwargs)  # type: ignore[call-overload]
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def write_private(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path``, owner-only; the path."""
    with open_private(path) as handle:
        handle.write(text)
    return Path(path)
