"""A small authenticated on-disk store for caches (used by the Kconfig parse cache).

What it guarantees (the threat: another local user, or anyone who can write one file or own
one directory on the way to the cache, trying to make cpualloc load data they wrote):

* The store is a directory ``<base>/<name>`` reached from ``/`` one component at a time with
  ``os.open(..., O_DIRECTORY | O_NOFOLLOW, dir_fd=parent)``: no symlink is followed, and every
  later step uses the descriptors opened here, so nothing is looked up twice by path (no
  check-then-open race). Each ancestor is checked on its open descriptor (``fstat``): owned
  by root or by the user, and not writable by group or others unless it is sticky and owned
  by root (as ``/tmp``). The store directory itself must be owned by the user with mode
  0700 (it is created so). Anything else: the store is unavailable (``open_store`` returns
  None) and the caller works without a cache.
* Entries are opened with ``O_NOFOLLOW | O_NONBLOCK`` relative to the store's descriptor and
  checked on the opened descriptor: a regular file, owned by the user, mode 0600, no bigger
  than the caller's cap.
* Every entry carries an HMAC-SHA256 over its whole content, keyed by 32 random bytes kept in
  the store (file ``.key``, same checks as an entry). An entry whose MAC does not verify is
  ignored before anything in it is interpreted; the caller only decodes authenticated bytes.
* Writes go to a fresh ``O_CREAT | O_EXCL`` temporary file (mode 0600) in the store, renamed
  into place with both ends relative to the store's descriptor.

The store knows nothing about what it holds (a later "resolved config" cache can reuse it
with another ``name``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

MAGIC = b"cpualloc-secure-store-1\n"
KEY_NAME = ".key"
KEY_BYTES = 32
_MAC_LEN = 32

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


def default_base() -> Path:
    """``$XDG_CACHE_HOME/cpualloc`` or ``~/.cache/cpualloc``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cpualloc"


def _ancestor_ok(st: os.stat_result, uid: int) -> bool:
    if st.st_uid not in (0, uid):
        return False
    if st.st_mode & 0o022:
        # writable by others: only safe when sticky (others cannot rename or remove what
        # they do not own) and owned by root
        return bool(st.st_mode & stat.S_ISVTX) and st.st_uid == 0
    return True


def _private_ok(st: os.stat_result, uid: int) -> bool:
    return stat.S_ISDIR(st.st_mode) and st.st_uid == uid and not (st.st_mode & 0o077)


def _open_dir_chain(path: Path, *, create: bool) -> int | None:
    """Open `path` (absolute) component by component; returns a descriptor of its last
    component (a private directory of the user), or None when a component is missing (and not
    to be created), a symlink, or fails its ownership/mode check."""
    uid = os.getuid()
    parts = [p for p in Path(os.path.abspath(path)).parts[1:] if p not in ("", ".")]
    if ".." in parts:
        return None
    fd = os.open("/", _DIR_FLAGS)
    try:
        if not _ancestor_ok(os.fstat(fd), uid):
            return None
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            try:
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    return None
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
                nfd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nfd
            st = os.fstat(fd)
            if not (_private_ok(st, uid) if last else _ancestor_ok(st, uid)):
                return None
        result, fd = fd, -1
        return result
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)


def _read_private_file(dir_fd: int, name: str, cap: int) -> bytes | None:
    """The content of `name` in `dir_fd` when it is a regular file of the user, mode 0600
    (no group/other bits), at most `cap` bytes; else None. Never follows a symlink."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077 or st.st_size > cap:
            return None
        chunks: list[bytes] = []
        left = st.st_size + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= min(cap, st.st_size) else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_private_file(dir_fd: int, name: str, data: bytes, *, exclusive: bool = False) -> bool:
    """Write `data` to a new temporary file (0600) in `dir_fd` and rename it to `name` (or,
    `exclusive`, link it there only when `name` does not exist yet)."""
    tmp = f".tmp-{secrets.token_hex(8)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        if exclusive:
            os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
        else:
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            tmp = ""
        return True
    except OSError:
        return False
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)


class SecureStore:
    """An open store (see the module docstring). Use as a context manager, or close()."""

    def __init__(self, fd: int, key: bytes) -> None:
        self._fd = fd
        self._key = key

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SecureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()

    def get(self, name: str, cap: int) -> bytes | None:
        """The authenticated content stored under `name`, or None (missing, not the user's,
        not private, a symlink, bigger than `cap`, or failing its MAC)."""
        if not _valid_name(name):
            return None
        data = _read_private_file(self._fd, name, cap + len(MAGIC) + _MAC_LEN)
        if data is None or not data.startswith(MAGIC) or len(data) < len(MAGIC) + _MAC_LEN:
            return None
        mac, body = data[len(MAGIC):len(MAGIC) + _MAC_LEN], data[len(MAGIC) + _MAC_LEN:]
        if not hmac.compare_digest(mac, self._mac(name.encode() + b"\0" + body)):
            return None
        return body

    def put(self, name: str, body: bytes) -> bool:
        """Store `body` under `name` (atomically replacing an older entry)."""
        if not _valid_name(name):
            return False
        blob = MAGIC + self._mac(name.encode() + b"\0" + body) + body
        return _write_private_file(self._fd, name, blob)

    def prune(self, suffix: str, keep: int) -> None:
        """Keep the `keep` most recently modified entries whose names end with `suffix`."""
        try:
            names = [n for n in os.listdir(self._fd) if n.endswith(suffix) and _valid_name(n)]
            dated: list[tuple[float, str]] = []
            for n in names:
                with contextlib.suppress(OSError):
                    st = os.stat(n, dir_fd=self._fd, follow_symlinks=False)
                    dated.append((st.st_mtime, n))
            dated.sort(reverse=True)
            for _, n in dated[keep:]:
                with contextlib.suppress(OSError):
                    os.unlink(n, dir_fd=self._fd)
        except OSError:
            return


def _valid_name(name: str) -> bool:
    return bool(name) and "/" not in name and name not in (".", "..", KEY_NAME) and not name.startswith(".tmp-") \
        and "\0" not in name


def _load_or_create_key(fd: int) -> bytes | None:
    key = _read_private_file(fd, KEY_NAME, KEY_BYTES)
    if key is not None and len(key) == KEY_BYTES:
        return key
    if key is None:
        try:
            os.stat(KEY_NAME, dir_fd=fd, follow_symlinks=False)
            return None  # present but not ours / not private / a symlink: refuse the store
        except FileNotFoundError:
            pass
        except OSError:
            return None
    elif len(key) != KEY_BYTES:
        return None
    # when another process created it first, the link fails and theirs is read (same checks)
    _write_private_file(fd, KEY_NAME, secrets.token_bytes(KEY_BYTES), exclusive=True)
    key = _read_private_file(fd, KEY_NAME, KEY_BYTES)
    return key if key is not None and len(key) == KEY_BYTES else None


def open_store(name: str, base: Path | None = None) -> SecureStore | None:
    """Open (creating when needed) the store ``<base>/<name>``; None when it cannot be made
    safe (see the module docstring)."""
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"bad store name {name!r}")
    root = base if base is not None else default_base()
    fd = _open_dir_chain(root / name, create=True)
    if fd is None:
        return None
    try:
        key = _load_or_create_key(fd)
    except OSError:
        key = None
    if key is None:
        os.close(fd)
        return None
    return SecureStore(fd, key)
