"""Writing outputs so that nothing is lost: every file goes to a temporary name beside its target, is flushed and
fsync'd, then renamed over the target (an interrupt leaves the old file intact or the new one whole); a folder of
outputs is built in a staging folder beside its target, carries a manifest of SHA-256 checksums written last, and
replaces the old folder in one atomic exchange (Linux ``renameat2``; elsewhere two renames).

Output locations are checked *before* any work starts (:func:`check_output_file`, :func:`check_output_dir`), so a
typo in ``--out`` costs a second, not the minutes of work before the write.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import ConfigError, DataError

#: File name of a folder's manifest (written last; readers refuse a folder without it).
MANIFEST = "MANIFEST.json"
MANIFEST_FORMAT = "hwsim-output-folder"
_TMP = ".hwsim-tmp-"
_OLD = ".hwsim-old-"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (a pid we may not signal exists)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


_UMASK: int | None = None


def _new_mode(directory: bool = False) -> int:
    """Permissions a plain ``open()`` / ``mkdir()`` would give under the process umask (0644 / 0755 under umask
    022): ``tempfile`` makes its files 0600 and folders 0700, which would leave every output private."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return (0o777 if directory else 0o666) & ~_UMASK


def _tmp_prefix(name: str) -> str:
    """Temporary-file prefix for ``name``: it carries this process's pid, so a later write can tell a temporary
    that a killed run left (its pid gone) from one that a running process is still writing."""
    return f"{_TMP}{name}.{os.getpid()}."


def _clean_stale_files(folder: Path, name: str) -> None:
    """Delete temporaries of ``name`` left in ``folder`` by processes that no longer exist (SIGKILL, power loss)."""
    head = _TMP + name + "."
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if not e.name.startswith(head):
            continue
        pid = e.name[len(head):].split(".", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                if e.is_file(follow_symlinks=False):
                    os.unlink(e.path)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", **kw: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on a clean exit flush, fsync and rename it to ``path``,
    on any exception (KeyboardInterrupt included) delete it and leave ``path`` untouched. A temporary of ``path``
    that a killed process left behind (its pid, part of the name, no longer running) is deleted first."""
    p = Path(path)
    if "w" not in mode:
        raise ValueError(f"atomic_open writes only, got mode {mode!r}")
    _clean_stale_files(p.parent, p.name)
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(p.name), dir=p.parent)
    try:  # a replaced file keeps its permissions; a new one gets the umask's
        os.fchmod(fd, stat.S_IMODE(p.stat().st_mode) if p.is_file() else _new_mode())
    except OSError:  # pragma: no cover - file systems without permissions
        pass
    done = False
    try:
        with os.fdopen(fd, mode, **kw) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
        done = True
        _fsync_dir(p.parent)
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return write_bytes(path, text.encode("utf-8"))


def _probe(folder: Path, what: str, flag: str) -> None:
    """Create and delete a temporary file in ``folder``: the only reliable test that a write will succeed."""
    try:
        _clean_stale_files(folder, "probe")
        fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix("probe"), dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ConfigError(f"{flag} {what}: cannot write in folder {str(folder)!r}: {exc.strerror or exc}") from None


def _make_parent(p: Path, flag: str) -> None:
    parent = p.parent
    if parent.exists() and not parent.is_dir():
        raise ConfigError(f"{flag} {str(p)!r}: {str(parent)!r} is not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{flag} {str(p)!r}: cannot create folder {str(parent)!r}: {exc.strerror or exc}") from None


def check_output_file(path: str | os.PathLike[str], flag: str = "output",
                      suffix: str | tuple[str, ...] | None = None) -> Path:
    """Validate an output file location before any work: not a folder, the right ``suffix`` (when given; one of
    them for a tuple), its folder created if missing and writable. Returns the path; ConfigError naming ``flag``
    otherwise."""
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        raise ConfigError(f"{flag} {str(path)!r}: not a file name")
    if p.is_dir():
        raise ConfigError(f"{flag} {str(p)!r} is a folder; give a file name")
    allowed = (suffix,) if isinstance(suffix, str) else suffix
    if allowed is not None and p.suffix not in allowed:
        raise ConfigError(f"{flag} {str(p)!r}: must end in {' or '.join(allowed)}")
    if p.exists() and not p.is_file():
        raise ConfigError(f"{flag} {str(p)!r} exists and is not a regular file")
    _make_parent(p, flag)
    _probe(p.parent, repr(str(p)), flag)
    return p


#: What an output folder of an hwsim version before manifests held (it may be replaced as a whole).
_LEGACY_SUFFIXES = (".png", ".csv", ".json", ".md")


def _replaceable(d: Path) -> bool:
    """Whether existing folder ``d`` may be replaced as a whole: empty, or an hwsim output folder (a manifest, or
    only the files an older hwsim wrote, report.json among them); never a folder of the user's own files."""
    entries = list(d.iterdir())
    if not entries or (d / MANIFEST).is_file():
        return True
    return (d / "report.json").is_file() and all(e.is_file() and e.suffix in _LEGACY_SUFFIXES for e in entries)


def check_output_dir(path: str | os.PathLike[str], flag: str = "output folder") -> Path:
    """Validate an output folder before any work: not an existing file, not a folder of other files (the folder is
    replaced as a whole by :func:`output_folder`), its parent creatable and writable. Returns the path;
    ConfigError otherwise."""
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        p = p.resolve()
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{flag} {str(p)!r} exists and is not a folder")
    if p.is_dir() and not _replaceable(p):
        raise ConfigError(f"{flag} {str(p)!r} holds files hwsim did not write (no {MANIFEST}); the folder is "
                          "replaced as a whole, so give a new or empty folder")
    _make_parent(p, flag)
    _probe(p.parent, repr(str(p)), flag)
    return p


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(folder: str | os.PathLike[str]) -> Path:
    """Write ``folder``'s manifest (SHA-256 and size of every other file in it), atomically; returns its path."""
    d = Path(folder)
    files = {f.name: {"sha256": sha256_file(f), "bytes": f.stat().st_size}
             for f in sorted(d.iterdir()) if f.is_file() and f.name != MANIFEST and not f.name.startswith(_TMP)}
    return write_text(d / MANIFEST, json.dumps({"format": MANIFEST_FORMAT, "files": files}, indent=2) + "\n")


def verify_folder(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Check a folder of outputs against its manifest; returns the manifest. DataError when the manifest is missing
    or unreadable (an interrupted or foreign folder), a listed file is missing or has another checksum, or a file
    the manifest does not list is present."""
    d = Path(folder)
    where = f"output folder {str(d)!r}"
    if not d.is_dir():
        raise DataError(f"{where} does not exist")
    m = d / MANIFEST
    if not m.is_file():
        raise DataError(f"{where} has no {MANIFEST}: it is incomplete (interrupted) or not written by hwsim")
    try:
        man = json.loads(m.read_text(encoding="utf-8"))
        files = man["files"]
        if man.get("format") != MANIFEST_FORMAT or not isinstance(files, dict):
            raise ValueError("not an hwsim manifest")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DataError(f"{where}: {MANIFEST} is unreadable: {exc}") from None
    for name, entry in files.items():
        f = d / name
        if not f.is_file():
            raise DataError(f"{where}: {name} is listed in {MANIFEST} but missing")
        if not isinstance(entry, dict) or sha256_file(f) != entry.get("sha256"):
            raise DataError(f"{where}: {name} does not match its checksum in {MANIFEST}")
    extra = sorted(f.name for f in d.iterdir() if f.is_file() and f.name != MANIFEST and f.name not in files)
    if extra:
        raise DataError(f"{where}: files not in {MANIFEST}: {', '.join(extra)}")
    return man


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    at_fdcwd = -100
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _clean_stale(target: Path) -> None:
    """Remove staging folders a killed run left beside ``target``."""
    for prefix in (_TMP, _OLD):
        for old in target.parent.glob(prefix + target.name + ".*"):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def output_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a folder of outputs: yields an empty staging folder beside ``path``; on a clean exit its manifest is
    written last and it replaces ``path`` atomically (the old folder, if any, is then deleted). On any exception
    the staging folder is deleted and ``path`` is untouched."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(target)
    stage = Path(tempfile.mkdtemp(prefix=_TMP + target.name + ".", dir=target.parent))
    with contextlib.suppress(OSError):
        os.chmod(stage, _new_mode(directory=True))
    done = False
    try:
        yield stage
        for f in stage.iterdir():
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        write_manifest(stage)
        _fsync_dir(stage)
        if not target.exists():
            os.rename(stage, target)
        elif _exchange(stage, target):
            shutil.rmtree(stage, ignore_errors=True)  # now the old folder
        else:  # pragma: no cover - non-Linux: a short window where only the renamed old folder exists
            old = Path(tempfile.mkdtemp(prefix=_OLD + target.name + ".", dir=target.parent))
            os.rmdir(old)
            os.rename(target, old)
            os.rename(stage, target)
            shutil.rmtree(old, ignore_errors=True)
        done = True
        _fsync_dir(target.parent)
    finally:
        if not done:
            shutil.rmtree(stage, ignore_errors=True)
