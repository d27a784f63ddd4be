"""Writing an output file whole or not at all: a temporary file beside it, renamed into place.

A reader (a browser, QGIS, a print queue) never sees half a report or half a GeoPackage, and a
failed run leaves the previous file as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DataError


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path in `path`'s folder to write to; moved onto `path` when the block succeeds.

    The folder is created if needed. On an exception the temporary file is removed and the
    exception goes on (an OSError becomes a DataError that names the file).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=path.parent)
        os.close(fd)
    except OSError as e:
        raise DataError(f"{path}: cannot write ({e.strerror or e})") from None
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a report is meant to be shared
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise DataError(f"{path}: cannot write ({e.strerror or e})") from None
    except BaseException:
        _remove(tmp)
        raise


def write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically; the path."""
    with replacing(path) as tmp:
        with open(tmp, "w", encoding=encoding, newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass
