"""Read a `--baseline`: an earlier `cpualloc check --format json` report.

Everything in it is untrusted (issue 17, class 10): only a regular file is read (a FIFO or a
device is refused without blocking), at most MAX_BASELINE_BYTES of it, and every number is
checked before use: NaN, Infinity, 1e400, 5,000-digit integers, negative or larger than 2^63
are refused with exit 3 naming the key, never passed on to the budget arithmetic.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from cpualloc_cli.errors import InputError
from cpualloc_cli.model.measures import MAX_NUMBER_CHARS, MAX_SIZE_BYTES, check_number

MAX_BASELINE_BYTES = 16 << 20
HINT = "--baseline takes an earlier `check --format json`"
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class _BadNumber:
    """A JSON number refused while parsing (NaN, Infinity, too many digits); reported with its key."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _constant(name: str) -> _BadNumber:
    return _BadNumber(f"{name} is not a finite number")


def _int(text: str) -> int | _BadNumber:
    if len(text.lstrip("-")) > MAX_NUMBER_CHARS:
        return _BadNumber(f"a {len(text)}-digit integer (at most {MAX_NUMBER_CHARS} digits)")
    return int(text)


def _float(text: str) -> float | _BadNumber:
    if len(text) > MAX_NUMBER_CHARS:
        return _BadNumber(f"a {len(text)}-character number (at most {MAX_NUMBER_CHARS})")
    return float(text)


def _key(name: str) -> str:
    """A key from the file, safe to print: escaped when not printable, cut when long."""
    shown = name if name.isprintable() else ascii(name)[1:-1]
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _read(path: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC | _O_NONBLOCK)
    except FileNotFoundError:
        raise InputError("no such file", path=path, hint=HINT) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError("is a directory", path=path, hint=HINT)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file (a FIFO, device or socket)", path=path, hint=HINT)
        if st.st_size > MAX_BASELINE_BYTES:
            raise InputError(f"larger than {MAX_BASELINE_BYTES} bytes; not a check report", path=path)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        left = MAX_BASELINE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_BASELINE_BYTES:  # (grew while read)
        raise InputError(f"larger than {MAX_BASELINE_BYTES} bytes; not a check report", path=path)
    return data


def read_baseline(path: str) -> tuple[dict[str, float], dict[str, tuple[int, str]]]:
    """The `measures` of an earlier `check --format json`, and its `symbol_sizes` (empty when it
    had no image or predates them). Measures are finite numbers in 0 .. 2^63; symbol sizes are
    integers in 0 .. 2^63."""
    data = _read(path)
    try:
        doc: Any = json.loads(data.decode("utf-8"), parse_constant=_constant, parse_int=_int,
                              parse_float=_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not JSON: {exc}", path=path, hint=HINT) from None
    except RecursionError:
        raise InputError("not a check report: JSON nested too deeply", path=path, hint=HINT) from None
    if not isinstance(doc, dict) or doc.get("kind") != "check" or not isinstance(doc.get("measures"), dict):
        raise InputError("not a `cpualloc check --format json` report (no kind=check with measures)", path=path)
    out: dict[str, float] = {}
    for k, v in doc["measures"].items():
        where = f"measures.{_key(str(k))}"
        if isinstance(v, _BadNumber):
            raise InputError(f"{where}: {v.why}", path=path, hint=HINT)
        if isinstance(v, int | float) and not isinstance(v, bool):
            try:
                out[str(k)] = check_number(v)
            except ValueError as exc:
                raise InputError(f"{where}: {exc}", path=path, hint=HINT) from None
    syms: dict[str, tuple[int, str]] = {}
    raw = doc.get("symbol_sizes")
    if isinstance(raw, dict):
        for name, entry in raw.items():
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str)):
                continue  # not a [size, kind] pair: passed over, as before
            size = entry[0]
            where = f"symbol_sizes.{_key(str(name))}"
            if isinstance(size, _BadNumber):
                raise InputError(f"{where}: {size.why}", path=path, hint=HINT)
            if isinstance(size, bool) or not isinstance(size, int | float):
                continue
            if not isinstance(size, int):
                raise InputError(f"{where}: size {size} is not a whole number of bytes", path=path, hint=HINT)
            if size < 0:
                raise InputError(f"{where}: size {size} is negative", path=path, hint=HINT)
            if size > MAX_SIZE_BYTES:
                raise InputError(f"{where}: size is larger than 2^63 bytes", path=path, hint=HINT)
            syms[str(name)] = (size, entry[1])
    return out, syms
