"""The `.config` that CONFIG_IKCONFIG embeds in a kernel (kernel/configs.c).

The build gzips the `.config` (kernel/Makefile: config_data.gz) and places it between the
markers "IKCFG_ST" and "IKCFG_ED": in the vmlinux when IKCONFIG=y, in configs.ko when
IKCONFIG=m. `/proc/config.gz` serves the same gzip stream.

`read_ikconfig(path)` finds it in an ELF (vmlinux, configs.ko), in any compressed image that
`read_image_payload` understands, or takes a plain gzip file of a config as /proc/config.gz.
"""

from __future__ import annotations

import mmap
import os

from cpualloc_cli.adapters.decompress import (
    DEFAULT_CAP_BYTES,
    ELF_MAGIC,
    MAX_RATIO,
    codec_at,
    decode_stream,
    read_bounded,
    read_head,
    read_image_payload,
)
from cpualloc_cli.errors import CompressedImageError, InputError

START_MARKER = b"IKCFG_ST"
END_MARKER = b"IKCFG_ED"
GZIP_MAGIC = b"\x1f\x8b\x08"
NOT_SET = "no embedded config (CONFIG_IKCONFIG not set)"


def _find_block(buf: bytes | mmap.mmap) -> tuple[int, int] | None:
    """(start, end) of the gzip stream between the markers, or None."""
    pos = buf.find(START_MARKER + GZIP_MAGIC)
    if pos < 0:
        return None
    start = pos + len(START_MARKER)
    end = buf.find(END_MARKER, start)
    if end < 0:
        return None
    return start, end


def _decode_config(path: str, gz: bytes, cap_bytes: int, max_ratio: int | None, what: str) -> str:
    data, end = decode_stream(path, "gzip", gz, 0, len(gz), cap_bytes, max_ratio=max_ratio)
    if gz[end:].strip(b"\x00"):
        raise CompressedImageError(f"{what}: {len(gz) - end} stray bytes after the gzip stream", path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CompressedImageError(f"{what} is not UTF-8 text (byte {exc.start})", path=path) from None


def _looks_like_config(text: str) -> bool:
    if "\x00" in text:
        return False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("CONFIG_") and "=" in stripped:
            return True
        if stripped.startswith("# CONFIG_") and stripped.endswith(" is not set"):
            return True
    return False


def _search_file(path: str) -> bytes | None:
    """The embedded gzip block in the file itself (read through mmap, never whole)."""
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return None
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                found = _find_block(mm)
                return None if found is None else mm[found[0]:found[1]]
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None


def read_ikconfig(path: str, *, cap_bytes: int = DEFAULT_CAP_BYTES, max_ratio: int | None = MAX_RATIO) -> str:
    """The embedded `.config` text; InputError(NOT_SET) when there is none."""
    head, _ = read_head(path)
    if not head:
        raise InputError("empty file", path=path)
    block = _search_file(path)
    if block is not None:
        return _decode_config(path, block, cap_bytes, max_ratio, "embedded config")
    if head[:4] == ELF_MAGIC:
        raise InputError(NOT_SET, path=path)
    if codec_at(head, 0) == "gzip":
        # /proc/config.gz, or a gzip-compressed kernel (Image.gz, vmlinux.gz).
        buf = read_bounded(path, cap_bytes)
        data, _ = decode_stream(path, "gzip", buf, 0, len(buf), cap_bytes, max_ratio=max_ratio)
        found = _find_block(data)
        if found is not None:
            return _decode_config(path, data[found[0]:found[1]], cap_bytes, max_ratio, "embedded config")
        if data[:4] != ELF_MAGIC:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            if _looks_like_config(text):
                return text
        raise InputError(NOT_SET, path=path)
    payload = read_image_payload(path, cap_bytes=cap_bytes, max_ratio=max_ratio)
    if payload.data is not None:
        found = _find_block(payload.data)
        if found is not None:
            return _decode_config(path, payload.data[found[0]:found[1]], cap_bytes, max_ratio, "embedded config")
    raise InputError(NOT_SET, path=path)


def read_ikconfig_from_buffer(path: str, data: bytes | mmap.mmap) -> str | None:
    """The embedded `.config` in an already decompressed payload, or None when it has none."""
    found = _find_block(data)
    if found is None:
        return None
    return _decode_config(path, bytes(data[found[0]:found[1]]), DEFAULT_CAP_BYTES, MAX_RATIO, "embedded config")
