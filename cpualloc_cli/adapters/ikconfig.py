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
from cpualloc_cli.errors import CompressedImageError, DecompressionLimitError, InputError

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


LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"


def _decode_lz4_frame(path: str, buf: bytes, cap_bytes: int, max_ratio: int | None) -> bytes:
    """A whole lz4 frame-format file (plain `lz4 FILE`: Kbuild uses the legacy format, which
    decode_stream reads), at most `cap_bytes` (and MAX_RATIO times the input past 64 MiB)."""
    import lz4.frame

    from cpualloc_cli.adapters.decompress import ratio_limit

    limit = cap_bytes
    by_ratio = ratio_limit(len(buf), max_ratio)
    if by_ratio is not None:
        limit = min(limit, by_ratio)
    dec = lz4.frame.LZ4FrameDecompressor()
    try:
        # max_length bounds the output of this call; more left over means past the limit.
        data = dec.decompress(buf, max_length=limit + 1)
    except RuntimeError as exc:  # lz4.frame reports corrupt input as RuntimeError
        raise CompressedImageError(f"corrupt lz4 frame: {exc}", path=path) from None
    if len(data) > limit:
        raise DecompressionLimitError(f"lz4 frame decodes to more than {limit} bytes", path=path,
                                      hint="pass --max-size to allow it if the file is genuine")
    if not dec.eof:
        raise CompressedImageError("truncated lz4 frame", path=path)
    return bytes(data)


def _from_decoded(path: str, data: bytes, cap_bytes: int, max_ratio: int | None) -> str:
    """The config in a decompressed file: an embedded block (a vmlinux, configs.ko), or the
    file is itself a config (/proc/config.gz)."""
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


def read_ikconfig(path: str, *, cap_bytes: int = DEFAULT_CAP_BYTES, max_ratio: int | None = MAX_RATIO) -> str:
    """The embedded `.config` text; InputError(NOT_SET) when there is none.

    A compressed file is decompressed first and the markers are looked for in its output: a
    zstd or lz4 stream can carry the (incompressible) gzip block as raw literals, so the
    markers show in the compressed bytes with the block broken up by frame headers (issue 18).
    """
    head, _ = read_head(path)
    if not head:
        raise InputError("empty file", path=path)
    if head[:4] == LZ4_FRAME_MAGIC:
        return _from_decoded(path, _decode_lz4_frame(path, read_bounded(path, cap_bytes), cap_bytes, max_ratio),
                             cap_bytes, max_ratio)
    codec = None if head[:4] == ELF_MAGIC else codec_at(head, 0)
    if codec is not None:
        # configs.ko.{gz,xz,zst,lz4}, /proc/config.gz, vmlinux.xz, Image.gz ...: decode, then look.
        buf = read_bounded(path, cap_bytes)
        data, _ = decode_stream(path, codec, buf, 0, len(buf), cap_bytes, max_ratio=max_ratio)
        return _from_decoded(path, data, cap_bytes, max_ratio)
    block = _search_file(path)
    if block is not None:
        return _decode_config(path, block, cap_bytes, max_ratio, "embedded config")
    if head[:4] == ELF_MAGIC:
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
