"""Writing an output file whole or not at all, and never over something it must not replace.

The file is written to a temporary file beside it and renamed into place, so a reader (a
browser, QGIS, a print queue) never sees half a report or half a GeoPackage, and a failed run
leaves the previous file as it was.

Before anything is written the target is checked (`check_target`): it may not be one of the
protected files (the open database with its -wal/-shm/-journal, and config.toml: the CLI
registers them with `protect`), and an existing file must be of the kind being written:

    html     a page this tool wrote (it carries GENERATOR_META; older maps and reviews are
             recognised by their own markers)
    csv      text whose first rows have the header's number of fields
    geojson  a JSON object with a GeoJSON "type"
    gpkg     a GeoPackage (SQLite with application_id GPKG); a monitor database never
    pdf      a PDF
An empty existing file may always be replaced. Anything else is refused with a UsageError.

Temporary files are named `.NAME.PID.part.SUFFIX`; one left behind by a process that was killed
(its pid no longer runs) is removed by the next write of the same target.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DataError, UsageError

# The marker every HTML page of ours carries in its <head> (the map, the monthly review).
GENERATOR_META = '<meta name="generator" content="monitor">'

KINDS = ("html", "csv", "geojson", "gpkg", "pdf")
_GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
_SNIFF_BYTES = 64 * 1024
# pages written before GENERATOR_META existed: the map's script namespace, the review's metrics
_LEGACY_HTML_MARKERS = (b"MonitorRiskMap", b'data-metric="')
_LEGACY_PART_AGE_S = 3600  # a random-named .part file of an older version, untouched this long, is stale

_protected: set[str] = set()


def protect(*paths: str | os.PathLike | None, database: bool = False) -> None:
    """Never write an output file onto these paths (for a database: also its -wal, -shm and
    -journal files). The CLI registers the open database and config.toml."""
    for p in paths:
        if p is None or str(p) == ":memory:" or "://" in str(p):
            continue
        real = os.path.realpath(p)
        _protected.add(real)
        if database:
            _protected.update(real + s for s in ("-wal", "-shm", "-journal"))


def unprotect_all() -> None:
    """Forget every protected path (for tests running several commands in one process)."""
    _protected.clear()


def check_target(path: str | os.PathLike, kind: str) -> None:
    """Refuse (UsageError) to write a `kind` file at `path` when that would destroy something:
    a protected file, or an existing file that is not of `kind` (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown output kind {kind!r}; one of {KINDS}")
    path = Path(path)
    real = os.path.realpath(path)
    if real in _protected or any(_same_file(path, p) for p in _protected):
        raise UsageError(f"拒绝覆盖 {path}：它是本工具正在使用的数据库或配置文件，请换一个输出文件名；"
                         f"refusing to write over {path}: it is the database or config file in use; "
                         "choose another output file")
    if not path.exists():
        return
    if path.is_dir():
        raise UsageError(f"{path} 是文件夹，请给出文件名；{path} is a folder: give a file name")
    try:
        if path.stat().st_size == 0:
            return
        what = _sniff(path)
    except OSError as e:
        raise DataError(f"无法读取 {path}（{e.strerror or e}）；cannot read {path} ({e.strerror or e})") from None
    if what != kind:
        zh, en = _FOUND.get(what, (f"不是本工具写的 {kind} 文件", f"not a {kind} file this tool wrote"))
        raise UsageError(f"拒绝覆盖 {path}：已有的文件{zh}，请换一个输出文件名或先移走它；"
                         f"refusing to replace {path}: the existing file is {en}; "
                         "choose another output file or move it away first")


_FOUND = {
    "monitor-db": ("是一个 monitor 数据库", "a monitor database"),
    "sqlite": ("是一个 SQLite 数据库", "a SQLite database"),
    "toml": ("是一个 TOML 配置文件", "a TOML config file"),
}


@contextmanager
def replacing(path: str | os.PathLike, kind: str) -> Iterator[Path]:
    """A temporary path in `path`'s folder to write a `kind` file to; moved onto `path` when the
    block succeeds.

    The target is checked first (`check_target`). The folder is created if needed, and stale
    temporary files of earlier killed writes of this target are removed. On an exception the
    temporary file is removed and the exception goes on (an OSError becomes a DataError that
    names the file).
    """
    path = Path(path)
    check_target(path, kind)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(path)
        tmp = _create_part(path)
    except OSError as e:
        raise DataError(f"无法写入 {path}（{e.strerror or e}）；{path}: cannot write ({e.strerror or e})") from None
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # a private temporary file; a report is meant to be shared
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise DataError(f"无法写入 {path}（{e.strerror or e}）；{path}: cannot write ({e.strerror or e})") from None
    except BaseException:
        _remove(tmp)
        raise


def write_text(path: str | os.PathLike, text: str, kind: str, *, encoding: str = "utf-8") -> Path:
    """Write `text` (a `kind` file) to `path` atomically; the path."""
    with replacing(path, kind) as tmp:
        with open(tmp, "w", encoding=encoding, newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


# --- temporary files --------------------------------------------------------------------------

def _part_name(path: Path, tag: str) -> Path:
    return path.parent / f".{path.name}.{tag}.part{path.suffix}"


def _create_part(path: Path) -> Path:
    """A new, empty, private temporary file named with this process's pid."""
    pid = os.getpid()
    for n in range(1000):
        tmp = _part_name(path, str(pid) if n == 0 else f"{pid}-{n}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise OSError(f"too many temporary files beside {path}")


def _remove_stale_parts(path: Path) -> None:
    """Remove the temporary files of earlier writes of `path` whose process is gone (and, from
    versions that named them randomly, those untouched for an hour)."""
    prefix, suffix = f".{path.name}.", f".part{path.suffix}"
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(suffix)) or len(name) <= len(prefix) + len(suffix):
            continue
        tag = name[len(prefix):-len(suffix)]
        part = path.parent / name
        m = re.fullmatch(r"(\d+)(?:-\d+)?", tag)
        if m:
            if not _running(int(m.group(1))):
                _remove(part)
        elif re.fullmatch(r"[a-z0-9_]{8}", tag):  # tempfile.mkstemp's names (before pids were used)
            try:
                if time.time() - part.stat().st_mtime > _LEGACY_PART_AGE_S:
                    _remove(part)
            except OSError:
                pass


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    except OSError:
        return False
    return True


# --- what an existing file is -----------------------------------------------------------------

def _sniff(path: Path) -> str:
    """What the existing file at `path` is: one of KINDS, 'monitor-db', 'sqlite', 'toml' or 'other'."""
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    if head.startswith(b"SQLite format 3\x00"):
        return _sniff_sqlite(path)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if b"\x00" in head:
        return "other"
    text = head.decode("utf-8-sig", errors="replace")
    if len(head) == _SNIFF_BYTES:  # drop a line cut short by the read
        text = text.rsplit("\n", 1)[0]
    if GENERATOR_META in text or _has_legacy_html_marker(path, head):
        return "html"
    stripped = text.lstrip()
    if stripped.startswith("{"):
        if re.search(r'"type"\s*:\s*"(FeatureCollection|Feature|Point|MultiPoint|LineString|MultiLineString|'
                     r'Polygon|MultiPolygon|GeometryCollection)"', text):
            return "geojson"
        return "other"
    if stripped.startswith("<"):
        return "other"
    if _looks_like_toml(path, head):
        return "toml"
    if _looks_like_csv(text):
        return "csv"
    return "other"


def _sniff_sqlite(path: Path) -> str:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error:
        return "sqlite"
    if {"facilities", "status_history"} <= tables:
        return "monitor-db"
    return "gpkg" if app_id == _GPKG_APPLICATION_ID else "sqlite"


def _has_legacy_html_marker(path: Path, head: bytes) -> bool:
    """A page written before GENERATOR_META: its markers lie past the inlined scripts, so the
    file is read on in blocks (an old map is a few MB at most)."""
    if not head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return False
    keep = max(len(m) for m in _LEGACY_HTML_MARKERS)
    with open(path, "rb") as f:
        tail = b""
        while block := f.read(1 << 20):
            chunk = tail + block
            if any(m in chunk for m in _LEGACY_HTML_MARKERS):
                return True
            tail = chunk[-keep:]
    return False


def _looks_like_toml(path: Path, head: bytes) -> bool:
    import tomllib

    if path.suffix.lower() == ".toml":
        return True
    if os.path.getsize(path) > 1 << 20:
        return False
    try:
        return bool(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return False


def _looks_like_csv(text: str) -> bool:
    """A header of two or more fields, and the next rows (up to 20) with as many."""
    try:
        rows = [r for _, r in zip(range(21), csv.reader(io.StringIO(text))) if any(c.strip() for c in r)]
    except csv.Error:
        return False
    if not rows:
        return False
    width = len(rows[0])
    return width >= 2 and all(len(r) == width for r in rows[1:])


def _same_file(path: Path, other: str) -> bool:
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass


__all__ = ["GENERATOR_META", "KINDS", "check_target", "protect", "replacing", "unprotect_all", "write_text"]
