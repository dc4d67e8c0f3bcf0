"""Compressed kernel images: find the payload, decompress it within bounds.

Integration contract (for `inspect` and every other caller)::

    payload = read_image_payload(path)              # never raises anything but CpuallocError
    if payload.kind == "elf":                       # already an ELF: data is None
        image = read_elf(path)
    elif payload.payload_is_elf:                    # bzImage / vmlinuz / vmlinux.xz ...
        image = read_elf_bytes(payload.data, path)  # the vmlinux (bzImage: symbols stripped)
    else:                                           # arm zImage, arm64 Image(.gz): raw binary
        ...report payload.header (image_size, init_size, ...) and payload.notes only...

Detection is by content, never by file name:

- ELF magic: kind "elf", nothing is read beyond the first bytes.
- x86 bzImage ("HdrS" at 0x202): the payload sits at (setup_sects+1)*512 + payload_offset and is
  payload_length long; its last 4 bytes are the uncompressed size (gzip's ISIZE, or the size
  Kbuild's size_append adds for the other codecs; arch/x86/boot/compressed/mkpiggy.c reads it).
- arm64 Image ("ARM\\x64" at 0x38), raw or compressed as a whole (Image.gz, Image.zst, ...).
- arm zImage (0x016f2818 at 0x24): the compressed piggy is found by scanning.
- anything else: scan for the codec magics as Linux's scripts/extract-vmlinux does and take the
  first stream (lowest offset) that decodes to an ELF (or to an arm64 Image).

Bounds: the file is read only up to the cap; decompression is streamed with an output limit of
`cap_bytes` (default 1 GiB), tightened to MAX_RATIO (100) times the compressed input once past
64 MiB (unless max_ratio=None), and to the size trailer where the container says where the
trailer is (bzImage). A stream that would exceed its limit raises DecompressionLimitError (exit 3)
before the output grows past the limit by more than one bounded step (at most ~16 MiB).

Codec exceptions are translated at one fence, :func:`_decode`, which names them: zlib.error,
lzma.LZMAError, OSError/EOFError (bz2), zstandard.ZstdError, lz4.block.LZ4BlockError, and
lzokay.LzokayError or lzo.error (in _decode_lzo). Everything else escaping from here is a bug (exit 4).
"""

from __future__ import annotations

import bz2
import lzma
import mmap
import os
import struct
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from cpualloc_cli.adapters.elf import open_regular
from cpualloc_cli.errors import CompressedImageError, DecompressionLimitError, InputError
from cpualloc_cli.model.payload import (
    KIND_ARM64_IMAGE,
    KIND_ARM_ZIMAGE,
    KIND_BZIMAGE,
    KIND_ELF,
    KIND_RAW_COMPRESSED,
    KIND_VMLINUZ,
    HeaderValue,
    Payload,
)

DEFAULT_CAP_BYTES = 1 << 30  # 1 GiB of decompressed output, at most
# Kernel payloads compress far less than 100:1 (the x86_64 tinyconfig bzImage: 533152 -> 11216728, 21:1;
# Debian 6.1 amd64 vmlinuz, xz: 8098996 -> 65905060, 8:1). 1000:1 let a 1 MB gzip run to 1 GB (9 s).
# Output beyond MAX_RATIO times the compressed input, once past RATIO_FLOOR_BYTES, is a bomb:
# it stops there (within a second) instead of at the 1 GiB cap. An explicit cap (--max-size)
# turns this off (max_ratio=None).
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 64 << 20
ELF_MAGIC = b"\x7fELF"
ARM64_MAGIC = b"ARM\x64"
ARM64_MAGIC_OFFSET = 0x38
ZIMAGE_MAGIC = 0x016F2818
ZIMAGE_MAGIC_OFFSET = 0x24
BZIMAGE_HDRS_OFFSET = 0x202

# Codec magics, as scripts/extract-vmlinux searches for them.
MAGICS: tuple[tuple[str, bytes], ...] = (
    ("gzip", b"\x1f\x8b\x08"),
    ("xz", b"\xfd7zXZ\x00"),
    ("lzma", b"\x5d\x00\x00\x00"),
    ("bzip2", b"BZh"),
    ("lzo", b"\x89LZO\x00\r\n\x1a\n"),  # the whole lzop magic
    ("lz4", b"\x02\x21\x4c\x18"),
    ("zstd", b"\x28\xb5\x2f\xfd"),
)

MAX_SCAN_CANDIDATES = 256        # bounded work on hostile files full of magic bytes
PROBE_BYTES = 64                 # output needed to recognise an ELF or an arm64 Image header
# A probe that has consumed this much input without PROBE_BYTES of output is not a kernel
# stream (a gzip FNAME/FCOMMENT field with no NUL would otherwise be scanned to the end of
# the file, once per candidate). A bzip2 block needs up to ~900 KB of input before any output.
PROBE_INPUT_BYTES = 2 << 20
SPILL_BYTES = 64 << 20           # decoded output past this goes to an unlinked, mapped temporary file
IN_CHUNK = 64 * 1024             # input fed per step to zlib/lzma/bz2
OUT_STEP = 8 * 1024 * 1024       # output asked for per step
ZSTD_IN_CHUNK = 512              # zstd cannot limit output per call: feed it little at a time
LZ4_LEGACY_MAGIC = 0x184C2102
LZ4_LEGACY_CHUNK = 8 * 1024 * 1024
LZ4_MAX_BLOCK = LZ4_LEGACY_CHUNK + LZ4_LEGACY_CHUNK // 255 + 16  # LZ4_compressBound(8 MiB)
LZO_MAX_BLOCK = 64 * 1024 * 1024  # lzop's MAX_BLOCK_SIZE
XZ_MEMLIMIT = 1 << 28

LZO_HINT = "reinstall cpualloc (it depends on lzokay), or pip install lzokay"


class _Corrupt(Exception):
    """A stream that does not decode (internal; becomes CompressedImageError)."""


class _TooBig(Exception):
    """Output would pass the limit (internal; becomes DecompressionLimitError)."""


class _Sink:
    """Decoder output: held in memory up to SPILL_BYTES, then moved to an unlinked temporary
    file (tempfile.TemporaryFile, in TMPDIR) that is mapped read-only when the stream ends,
    so a large payload costs page cache, not heap (only the pages read later are resident).
    Probes (spill=False) stay in memory: they stop after PROBE_BYTES."""

    def __init__(self, *, spill: bool) -> None:
        self._mem = bytearray()
        self._file: IO[bytes] | None = None
        self._spill = spill
        self.size = 0

    def add(self, piece: bytes) -> None:
        if not piece:
            return
        self.size += len(piece)
        if self._file is not None:
            self._write(piece)
            return
        self._mem += piece
        if self._spill and len(self._mem) > SPILL_BYTES:
            try:
                self._file = tempfile.TemporaryFile(prefix="cpualloc-payload-")
            except OSError as exc:
                raise self._spill_error(exc) from None
            self._write(self._mem)
            self._mem = bytearray()

    def _write(self, piece: bytes | bytearray) -> None:
        assert self._file is not None
        try:
            self._file.write(piece)
        except OSError as exc:
            raise self._spill_error(exc) from None

    @staticmethod
    def _spill_error(exc: OSError) -> CompressedImageError:
        # A CpuallocError, not an OSError: _decode's fence would take an OSError for bz2 data.
        return CompressedImageError(f"cannot spill the decompressed payload to a temporary file: "
                                    f"{exc.strerror or exc}", hint="set TMPDIR to a directory with free space")

    def result(self) -> bytes | mmap.mmap:
        if self._file is None:
            return bytes(self._mem)
        try:
            self._file.flush()
            return mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise self._spill_error(exc if isinstance(exc, OSError) else OSError(str(exc))) from None
        finally:
            self._file.close()  # the map keeps the (already unlinked) file alive


@dataclass(frozen=True)
class _Decoded:
    data: bytes | mmap.mmap
    end: int          # offset just past the compressed stream
    complete: bool    # False when a probe stopped early


# --------------------------------------------------------------------------- file access


def _open_error(path: str, exc: OSError) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError("no such file", path=path)
    if isinstance(exc, IsADirectoryError):
        return InputError("is a directory, not a kernel image", path=path)
    if isinstance(exc, PermissionError):
        return InputError("permission denied", path=path)
    return InputError(f"cannot read: {exc.strerror or exc}", path=path)


def read_head(path: str, n: int = 4096) -> tuple[bytes, int]:
    """The first `n` bytes of the file and the file's size. Only regular files are read: a
    FIFO, device or socket is refused (exit 3) before anything is read (open_regular)."""
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(min(n, size))
    except OSError as exc:
        raise _open_error(path, exc) from None
    return head, max(size, len(head))


def read_bounded(path: str, cap_bytes: int) -> bytes:
    """The whole regular file, refusing files larger than `cap_bytes`. The file's real size is
    checked first and only that much is read: nothing is allocated for the cap itself."""
    try:
        with open_regular(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            data = b"" if size > cap_bytes else fh.read(size + 1)
    except OSError as exc:
        raise _open_error(path, exc) from None
    if size > cap_bytes or len(data) > cap_bytes:
        raise DecompressionLimitError(f"file is larger than the {cap_bytes}-byte cap", path=path,
                                      hint="raise --max-size if this is a genuine image")
    return data


# --------------------------------------------------------------------------- codecs


def codec_at(buf: bytes | memoryview, offset: int) -> str | None:
    """The codec whose magic starts at `offset`, if any."""
    for name, magic in MAGICS:
        if bytes(buf[offset:offset + len(magic)]) == magic:
            if name == "bzip2" and not bytes(buf[offset + 3:offset + 4]).isdigit():
                continue
            return name
    return None


def _check_room(out_len: int, limit: int) -> None:
    if out_len > limit:
        raise _TooBig()


def _check_probe_input(probe: bool, consumed: int) -> None:
    if probe and consumed >= PROBE_INPUT_BYTES:
        raise _Corrupt(f"no output from the first {consumed} bytes of input")


def _decode_zlib(view: memoryview, start: int, end: int, limit: int, probe: bool) -> _Decoded:
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = _Sink(spill=not probe)
    pos = start
    tail: bytes = b""
    while not d.eof:
        if not tail:
            if pos >= end:
                raise _Corrupt("stream is truncated")
            _check_probe_input(probe, pos - start)
            tail = bytes(view[pos:min(end, pos + IN_CHUNK)])
            pos += len(tail)
        room = min(limit + 1 - out.size, PROBE_BYTES if probe else OUT_STEP)
        out.add(d.decompress(tail, room))
        tail = d.unconsumed_tail
        _check_room(out.size, limit)
        if probe and out.size >= PROBE_BYTES:
            return _Decoded(out.result(), pos, False)
    stream_end = pos - len(tail) - len(d.unused_data)
    return _Decoded(out.result(), stream_end, True)


def _decode_lzma_like(dec: lzma.LZMADecompressor | bz2.BZ2Decompressor, view: memoryview, start: int, end: int,
                      limit: int, probe: bool) -> _Decoded:
    out = _Sink(spill=not probe)
    pos = start
    while not dec.eof:
        chunk = b""
        if dec.needs_input:
            if pos >= end:
                raise _Corrupt("stream is truncated")
            _check_probe_input(probe, pos - start)
            chunk = bytes(view[pos:min(end, pos + IN_CHUNK)])
            pos += len(chunk)
        room = min(limit + 1 - out.size, PROBE_BYTES if probe else OUT_STEP)
        piece = dec.decompress(chunk, room)
        if not piece and not chunk and not dec.eof and not dec.needs_input:
            raise _Corrupt("decoder made no progress")
        out.add(piece)
        _check_room(out.size, limit)
        if probe and out.size >= PROBE_BYTES:
            return _Decoded(out.result(), pos, False)
    return _Decoded(out.result(), pos - len(dec.unused_data), True)


def _decode_zstd(view: memoryview, start: int, end: int, limit: int, probe: bool) -> _Decoded:
    import zstandard

    # A zstd block (>= 4 input bytes) yields at most 128 KiB, so 512 input bytes yield at most
    # ~16 MiB per call: the output limit is enforced within one bounded step.
    d = zstandard.ZstdDecompressor(max_window_size=1 << 27).decompressobj()
    out = _Sink(spill=not probe)
    pos = start
    while not d.eof:
        if pos >= end:
            raise _Corrupt("stream is truncated")
        _check_probe_input(probe, pos - start)
        chunk = bytes(view[pos:min(end, pos + ZSTD_IN_CHUNK)])
        pos += len(chunk)
        out.add(d.decompress(chunk))
        _check_room(out.size, limit)
        if probe and out.size >= PROBE_BYTES:
            return _Decoded(out.result(), pos, False)
    return _Decoded(out.result(), pos - len(d.unused_data), True)


def _decode_lz4(view: memoryview, start: int, end: int, limit: int, probe: bool) -> _Decoded:
    """The kernel's lz4 (`lz4 -l`, legacy frames): magic, then chunks of a 4-byte LE compressed
    length and a block of at most 8 MiB output (lib/decompress_unlz4.c)."""
    import lz4.block

    if bytes(view[start:start + 4]) != struct.pack("<I", LZ4_LEGACY_MAGIC):
        raise _Corrupt("not an lz4 legacy stream")
    pos = start + 4
    out = _Sink(spill=not probe)
    while True:
        remaining = end - pos
        if remaining <= 4:
            break  # end of input, or exactly a size trailer left
        (chunk_len,) = struct.unpack_from("<I", view, pos)
        if chunk_len == LZ4_LEGACY_MAGIC:
            pos += 4
            continue
        if chunk_len == 0 or chunk_len > LZ4_MAX_BLOCK:
            break  # not a chunk: the stream ended (what follows is a trailer or other data)
        if chunk_len > remaining - 4:
            raise _Corrupt(f"chunk of {chunk_len} bytes at offset {pos} runs past the end of the data")
        block = bytes(view[pos + 4:pos + 4 + chunk_len])
        out.add(lz4.block.decompress(block, uncompressed_size=LZ4_LEGACY_CHUNK))
        pos += 4 + chunk_len
        _check_room(out.size, limit)
        if probe and out.size >= PROBE_BYTES:
            return _Decoded(out.result(), pos, False)
    if not out.size:
        raise _Corrupt("lz4 stream holds no data")
    return _Decoded(out.result(), pos, True)


_LZOP_MAGIC = b"\x89LZO\x00\r\n\x1a\n"
_F_ADLER32_D = 0x1
_F_ADLER32_C = 0x2
_F_H_EXTRA_FIELD = 0x40
_F_CRC32_D = 0x100
_F_CRC32_C = 0x200
_F_H_FILTER = 0x800


def _decode_lzo(view: memoryview, start: int, end: int, limit: int, probe: bool) -> _Decoded:
    """The kernel's lzo payload is an lzop file (`lzop -9`, scripts/Makefile.lib cmd_lzo): parse its
    header and decompress each LZO1X block (lib/decompress_unlzo.c does the same).

    The block decoder is lzokay (a core dependency with wheels on PyPI), else python-lzo (the
    `lzo` extra, which needs liblzo2 to build). Both decode LZO1X-1 and LZO1X-999 streams."""
    block_decoder: Callable[[bytes, int], bytes]
    decoder_errors: tuple[type[BaseException], ...]
    try:
        import lzokay

        block_decoder, decoder_errors = lzokay.decompress, (lzokay.LzokayError,)
    except ImportError:
        try:
            import lzo
        except ImportError:
            raise CompressedImageError("no LZO decoder is installed (lzokay, or python-lzo) for this LZO-compressed "
                                       "image", hint=LZO_HINT) from None

        def block_decoder(block: bytes, dst_len: int) -> bytes:
            return bytes(lzo.decompress(block, False, dst_len))

        decoder_errors = (lzo.error,)

    def need(pos: int, n: int) -> None:
        if pos + n > end:
            raise _Corrupt("lzop header or block is truncated")

    def u8(pos: int) -> int:
        need(pos, 1)
        return view[pos]

    def u16(pos: int) -> int:
        need(pos, 2)
        return int(struct.unpack_from(">H", view, pos)[0])

    def u32(pos: int) -> int:
        need(pos, 4)
        return int(struct.unpack_from(">I", view, pos)[0])

    need(start, len(_LZOP_MAGIC))
    if bytes(view[start:start + len(_LZOP_MAGIC)]) != _LZOP_MAGIC:
        raise _Corrupt("bad lzop magic")
    pos = start + len(_LZOP_MAGIC)
    version = u16(pos)
    pos += 4  # version, lib_version
    if version >= 0x0940:
        pos += 2  # version_needed_to_extract
    method = u8(pos)
    pos += 1
    if method not in (1, 2, 3):  # M_LZO1X_1, M_LZO1X_1_15, M_LZO1X_999
        raise _Corrupt(f"unsupported lzop method {method}")
    if version >= 0x0940:
        pos += 1  # level
    flags = u32(pos)
    pos += 4
    if flags & _F_H_FILTER:
        pos += 4
    pos += 8  # mode, mtime_low
    if version >= 0x0940:
        pos += 4  # mtime_high
    name_len = u8(pos)
    pos += 1 + name_len + 4  # file name, header checksum
    if flags & _F_H_EXTRA_FIELD:
        extra_len = u32(pos)
        pos += 4 + extra_len + 4
    need(pos, 0)
    out = _Sink(spill=not probe)
    while True:
        dst_len = u32(pos)
        pos += 4
        if dst_len == 0:
            break
        if dst_len > LZO_MAX_BLOCK:
            raise _Corrupt(f"lzop block of {dst_len} bytes is larger than lzop allows")
        if out.size + dst_len > limit:
            raise _TooBig()
        src_len = u32(pos)
        pos += 4
        d_adler = d_crc = None
        if flags & _F_ADLER32_D:
            d_adler = u32(pos)
            pos += 4
        if flags & _F_CRC32_D:
            d_crc = u32(pos)
            pos += 4
        if src_len < dst_len:
            if flags & _F_ADLER32_C:
                pos += 4
            if flags & _F_CRC32_C:
                pos += 4
        elif src_len > dst_len:
            raise _Corrupt("lzop block is larger compressed than uncompressed")
        need(pos, src_len)
        block = bytes(view[pos:pos + src_len])
        pos += src_len
        if src_len == dst_len:
            piece = block
        else:
            try:
                piece = block_decoder(block, dst_len)
            except decoder_errors as exc:
                raise _Corrupt(f"{type(exc).__name__}: {exc}") from None
        if len(piece) != dst_len:
            raise _Corrupt(f"lzop block decodes to {len(piece)} bytes, its header says {dst_len}")
        if d_adler is not None and zlib.adler32(piece) != d_adler:
            raise _Corrupt("lzop block checksum (adler32) mismatch")
        if d_crc is not None and zlib.crc32(piece) != d_crc:
            raise _Corrupt("lzop block checksum (crc32) mismatch")
        out.add(piece)
        if probe and out.size >= PROBE_BYTES:
            return _Decoded(out.result(), pos, False)
    return _Decoded(out.result(), pos, True)


def _decode(codec: str, view: memoryview, start: int, end: int, limit: int, probe: bool = False) -> _Decoded:
    """Decode one stream of `codec` from view[start:end] with at most `limit` output bytes.

    The one fence for codec exceptions: each library's own error types become _Corrupt."""
    import lz4.block
    import zstandard

    try:
        if codec == "gzip":
            return _decode_zlib(view, start, end, limit, probe)
        if codec == "xz":
            return _decode_lzma_like(lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT),
                                     view, start, end, limit, probe)
        if codec == "lzma":
            return _decode_lzma_like(lzma.LZMADecompressor(lzma.FORMAT_ALONE, memlimit=XZ_MEMLIMIT),
                                     view, start, end, limit, probe)
        if codec == "bzip2":
            return _decode_lzma_like(bz2.BZ2Decompressor(), view, start, end, limit, probe)
        if codec == "zstd":
            return _decode_zstd(view, start, end, limit, probe)
        if codec == "lz4":
            return _decode_lz4(view, start, end, limit, probe)
        if codec == "lzo":
            return _decode_lzo(view, start, end, limit, probe)
    except zlib.error as exc:
        raise _Corrupt(f"zlib.error: {exc}") from None
    except lzma.LZMAError as exc:
        raise _Corrupt(f"LZMAError: {exc}") from None
    except (OSError, EOFError) as exc:  # bz2 reports corrupt data as OSError ("Invalid data stream")
        raise _Corrupt(f"{type(exc).__name__}: {exc}") from None
    except zstandard.ZstdError as exc:
        raise _Corrupt(f"ZstdError: {exc}") from None
    except lz4.block.LZ4BlockError as exc:
        raise _Corrupt(f"LZ4BlockError: {exc}") from None
    raise _Corrupt(f"unknown codec {codec!r}")


def ratio_limit(input_bytes: int, max_ratio: int | None) -> int | None:
    """The output bound MAX_RATIO sets for `input_bytes` of compressed input (None: no bound)."""
    if max_ratio is None:
        return None
    return max(RATIO_FLOOR_BYTES, max_ratio * input_bytes)


def decode_stream(path: str, codec: str, buf: bytes, start: int, end: int, limit: int, *,
                  limit_reason: str | None = None, max_ratio: int | None = None) -> tuple[bytes, int]:
    """:func:`decode_stream_mapped`, with the output as bytes (for small outputs: a .config)."""
    data, stream_end = decode_stream_mapped(path, codec, buf, start, end, limit, limit_reason=limit_reason,
                                            max_ratio=max_ratio)
    if isinstance(data, mmap.mmap):
        with data:
            return data[:], stream_end
    return data, stream_end


def decode_stream_mapped(path: str, codec: str, buf: bytes, start: int, end: int, limit: int, *,
                         limit_reason: str | None = None,
                         max_ratio: int | None = None) -> tuple[bytes | mmap.mmap, int]:
    """Decode the `codec` stream at buf[start:end] (at most `limit` bytes of output, and at most
    `max_ratio` times the input past RATIO_FLOOR_BYTES) and return (output, offset just past the
    stream). Output past SPILL_BYTES comes back as a read-only map of an unlinked temporary
    file (see _Sink). Raises CompressedImageError/DecompressionLimitError."""
    by_ratio = ratio_limit(end - start, max_ratio)
    if by_ratio is not None and by_ratio < limit:
        limit = by_ratio
        limit_reason = (f"{limit} bytes from {end - start} compressed bytes (past {RATIO_FLOOR_BYTES >> 20} MiB, "
                        f"more than {max_ratio}:1 is taken for a decompression bomb)")
    view = memoryview(buf)
    try:
        decoded = _decode(codec, view, start, end, limit)
    except _TooBig:
        if limit_reason:
            raise DecompressionLimitError(f"{codec} payload at offset {start} decodes to more than {limit_reason}",
                                          path=path, hint="pass --max-size to allow it if the image is genuine") from None
        raise DecompressionLimitError(
            f"{codec} payload at offset {start} decodes to more than the {limit}-byte cap (a decompression bomb?)",
            path=path, hint="raise --max-size if this is a genuine image") from None
    except _Corrupt as exc:
        raise CompressedImageError(f"corrupt {codec} payload at offset {start}: {exc}", path=path) from None
    finally:
        view.release()
    return decoded.data, decoded.end


def _probe_or_error(codec: str, buf: bytes, start: int, limit: int) -> tuple[bytes | None, str]:
    """The first bytes a candidate stream decodes to, or (None, why) if it does not decode."""
    view = memoryview(buf)
    try:
        data = _decode(codec, view, start, len(buf), limit, probe=True).data
        return (data if isinstance(data, bytes) else data[:]), ""
    except _Corrupt as exc:
        return None, str(exc)
    except _TooBig:
        return None, "too big"
    finally:
        view.release()


def _probe(codec: str, buf: bytes, start: int, limit: int) -> bytes | None:
    return _probe_or_error(codec, buf, start, limit)[0]


# --------------------------------------------------------------------------- containers


def _is_arm64_image(data: bytes | mmap.mmap | memoryview) -> bool:
    return bytes(data[ARM64_MAGIC_OFFSET:ARM64_MAGIC_OFFSET + 4]) == ARM64_MAGIC


def _is_bzimage(data: bytes) -> bool:
    return data[BZIMAGE_HDRS_OFFSET:BZIMAGE_HDRS_OFFSET + 4] == b"HdrS" and len(data) > 0x1f1


def _zimage_endian(data: bytes) -> str | None:
    if len(data) < ZIMAGE_MAGIC_OFFSET + 12:
        return None
    if struct.unpack_from("<I", data, ZIMAGE_MAGIC_OFFSET)[0] == ZIMAGE_MAGIC:
        return "<"
    if struct.unpack_from(">I", data, ZIMAGE_MAGIC_OFFSET)[0] == ZIMAGE_MAGIC:
        return ">"
    return None


def arm64_header(data: bytes | mmap.mmap) -> tuple[tuple[str, HeaderValue], ...]:
    """Documentation/arm64/booting.rst: text_offset @0x08, image_size @0x10, flags @0x18 (LE)."""
    text_offset, image_size, flags = struct.unpack_from("<QQQ", data, 0x08)
    endian = "big" if flags & 1 else "little"
    page = {0: "unspecified", 1: "4K", 2: "16K", 3: "64K"}[(flags >> 1) & 3]
    return (("text_offset", text_offset), ("image_size", image_size), ("flags", flags),
            ("kernel_endianness", endian), ("page_size", page),
            ("phys_placement", "anywhere" if flags & 8 else "near DRAM base"))


ARM64_NOTE = ("the arm64 Image payload is a raw binary, not an ELF: only its header facts are known "
              "(image_size includes BSS); section detail needs the vmlinux")
ZIMAGE_NOTE = ("the arm zImage payload is a raw binary (arch/arm/boot/Image), not an ELF; "
               "section detail needs the vmlinux")
BZIMAGE_NOTE = ("the bzImage payload is the vmlinux with its symbols stripped (objcopy -R .comment -S): "
                "figures that need symbols need the vmlinux itself")


def _trailer_after(buf: bytes, stream_end: int, decoded_len: int, at_end: bool, path: str) -> int | None:
    """The size Kbuild appended after the stream, if the 4 bytes there hold one. When the stream is
    followed by exactly 4 bytes (`at_end`), those bytes are a trailer and must agree."""
    if stream_end + 4 > len(buf):
        return None
    (value,) = struct.unpack_from("<I", buf, stream_end)
    if value == decoded_len:
        return int(value)
    if at_end and stream_end + 4 == len(buf):
        raise CompressedImageError(
            f"size trailer says {value} bytes but the payload decodes to {decoded_len} bytes", path=path)
    return None


def _read_bzimage(path: str, buf: bytes, cap_bytes: int, max_ratio: int | None) -> Payload:
    """Documentation/x86/boot.rst: the real-mode kernel header."""
    if len(buf) < 0x264:
        raise CompressedImageError("bzImage setup header is truncated", path=path)
    setup_sects = buf[0x1f1] or 4
    (syssize,) = struct.unpack_from("<I", buf, 0x1f4)
    (version,) = struct.unpack_from("<H", buf, 0x206)
    header: list[tuple[str, HeaderValue]] = [
        ("boot_protocol", f"{version >> 8}.{version & 0xff:02d}"),
        ("setup_sects", setup_sects),
        ("syssize", syssize),
    ]
    if version >= 0x205:
        (kernel_alignment,) = struct.unpack_from("<I", buf, 0x230)
        header += [("kernel_alignment", kernel_alignment), ("relocatable_kernel", buf[0x234])]
    if version >= 0x20c:
        (xloadflags,) = struct.unpack_from("<H", buf, 0x236)
        header.append(("xloadflags", xloadflags))
    protected = (setup_sects + 1) * 512
    notes = [BZIMAGE_NOTE]
    if version < 0x208:
        # No payload_offset before boot protocol 2.08: scan the protected-mode part.
        found = _scan(path, buf, protected, cap_bytes, max_ratio)
        if found is None:
            raise CompressedImageError("no compressed ELF payload found in this old bzImage", path=path)
        old_codec, old_start, old_data, old_end, old_trailer = found
        return Payload(path=path, kind=KIND_BZIMAGE, codec=old_codec, file_size_bytes=len(buf),
                       compressed_size_bytes=old_end - old_start + (4 if old_trailer is not None else 0),
                       stream_offset=old_start, data=old_data, payload_is_elf=old_data[:4] == ELF_MAGIC,
                       size_trailer_bytes=old_trailer, header=tuple(header), notes=tuple(notes))
    payload_offset, payload_length = struct.unpack_from("<II", buf, 0x248)
    header += [("payload_offset", payload_offset), ("payload_length", payload_length)]
    if version >= 0x20a:
        (pref_address,) = struct.unpack_from("<Q", buf, 0x258)
        (init_size,) = struct.unpack_from("<I", buf, 0x260)
        header += [("pref_address", pref_address), ("init_size", init_size)]
    start = protected + payload_offset
    end = start + payload_length
    if payload_length < 8 or end > len(buf):
        raise CompressedImageError(
            f"setup header puts the payload at {start}..{end}, outside the file ({len(buf)} bytes)", path=path,
            hint="the bzImage is truncated or its header is corrupt")
    codec = codec_at(buf, start)
    if codec is None:
        raise CompressedImageError(f"unknown compression at payload offset {start} "
                                   f"(bytes {buf[start:start + 6].hex()})", path=path)
    # mkpiggy.c: the last 4 bytes of the payload are the uncompressed size, for every codec
    # (gzip's own ISIZE, or Kbuild's size_append).
    (trailer,) = struct.unpack_from("<I", buf, end - 4)
    if trailer > cap_bytes:
        raise DecompressionLimitError(
            f"payload size trailer claims {trailer} bytes, above the {cap_bytes}-byte cap", path=path,
            hint="raise --max-size if this is a genuine image")
    by_ratio = ratio_limit(payload_length, max_ratio)
    if by_ratio is not None and trailer > by_ratio:
        raise DecompressionLimitError(
            f"payload size trailer claims {trailer} bytes from {payload_length} compressed bytes, more than "
            f"{max_ratio} times as many (a decompression bomb?)", path=path,
            hint="pass --max-size to allow it if the image is genuine")
    data, _ = decode_stream_mapped(path, codec, buf, start, end, trailer,
                            limit_reason=f"the {trailer} bytes its size trailer states")
    if len(data) != trailer:
        raise CompressedImageError(
            f"size trailer says {trailer} bytes but the payload decodes to {len(data)} bytes", path=path)
    is_elf = data[:4] == ELF_MAGIC
    if not is_elf:
        notes.append("the decompressed payload is not an ELF")
    return Payload(path=path, kind=KIND_BZIMAGE, codec=codec, file_size_bytes=len(buf),
                   compressed_size_bytes=payload_length, stream_offset=start, data=data, payload_is_elf=is_elf,
                   size_trailer_bytes=trailer, header=tuple(header), notes=tuple(notes))


def _candidates(buf: bytes, start: int) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for name, magic in MAGICS:
        pos = buf.find(magic, start)
        while pos >= 0 and len(found) < 4 * MAX_SCAN_CANDIDATES:
            if codec_at(buf, pos) == name:
                found.append((pos, name))
            pos = buf.find(magic, pos + 1)
    found.sort()
    return found[:MAX_SCAN_CANDIDATES]


def _scan(path: str, buf: bytes, start: int, cap_bytes: int, max_ratio: int | None,
          accept: Callable[[bytes], bool] | None = None) -> tuple[str, int, bytes | mmap.mmap, int, int | None] | None:
    """The first stream from `start` on whose output `accept` likes (default: an ELF or an arm64
    Image). Returns (codec, offset, output, stream end, size trailer) or None."""
    def default_accept(prefix: bytes) -> bool:
        return prefix[:4] == ELF_MAGIC or _is_arm64_image(prefix)

    ok = accept or default_accept
    first_error: CompressedImageError | None = None
    for offset, codec in _candidates(buf, start):
        prefix = _probe(codec, buf, offset, cap_bytes)
        if prefix is None or not ok(prefix):
            continue
        try:
            data, end = decode_stream_mapped(path, codec, buf, offset, len(buf), cap_bytes, max_ratio=max_ratio)
        except CompressedImageError as exc:  # DecompressionLimitError included
            if accept is None:
                raise  # it began as an ELF: this is the payload, and it is corrupt (or a bomb)
            # Any output is acceptable here (arm zImage), so a false magic in the decompressor
            # code may decode a while before failing: try the next candidate.
            first_error = first_error or exc
            continue
        trailer = _trailer_after(buf, end, len(data), True, path)
        return codec, offset, data, end, trailer
    if first_error is not None:
        raise first_error
    return None


def _read_zimage(path: str, buf: bytes, cap_bytes: int, max_ratio: int | None, endian: str) -> Payload:
    """arch/arm/boot/compressed/head.S: magic @0x24, then start and end addresses, then the
    endianness word 0x04030201."""
    start_addr, end_addr = struct.unpack_from(endian + "II", buf, ZIMAGE_MAGIC_OFFSET + 4)
    header: list[tuple[str, HeaderValue]] = [
        ("kernel_endianness", "little" if endian == "<" else "big"),
        ("zimage_start", start_addr), ("zimage_end", end_addr),
        ("zimage_size", (end_addr - start_addr) & 0xFFFFFFFF),
    ]
    found = _scan(path, buf, ZIMAGE_MAGIC_OFFSET + 12, cap_bytes, max_ratio, accept=lambda prefix: True)
    if found is None:
        raise CompressedImageError("no compressed payload found in this arm zImage", path=path)
    codec, offset, data, end, trailer = found
    return Payload(path=path, kind=KIND_ARM_ZIMAGE, codec=codec, file_size_bytes=len(buf),
                   compressed_size_bytes=end - offset + (4 if trailer is not None else 0), stream_offset=offset,
                   data=data, payload_is_elf=data[:4] == ELF_MAGIC, size_trailer_bytes=trailer,
                   header=tuple(header), notes=(ZIMAGE_NOTE,))


def read_image_payload(path: str, *, cap_bytes: int = DEFAULT_CAP_BYTES, max_ratio: int | None = MAX_RATIO) -> Payload:
    """Open a kernel image of any supported kind; see the module docstring for the contract.

    Output is bounded by `cap_bytes`, and by `max_ratio` times the compressed input once past
    RATIO_FLOOR_BYTES (max_ratio=None: the cap alone, for `--max-size`)."""
    try:
        return _read_image_payload(path, cap_bytes, max_ratio)
    except CompressedImageError as exc:
        if exc.path is None:  # raised below the functions that know the path (a missing decoder)
            exc.path = path
        raise


def _read_image_payload(path: str, cap_bytes: int, max_ratio: int | None) -> Payload:
    head, size = read_head(path)
    if head[:4] == ELF_MAGIC:
        return Payload(path=path, kind=KIND_ELF, codec=None, file_size_bytes=size, compressed_size_bytes=size,
                       stream_offset=None, data=None, payload_is_elf=True)
    if not head:
        raise InputError("empty file, not a kernel image", path=path)
    buf = read_bounded(path, cap_bytes)
    if _is_bzimage(buf):
        return _read_bzimage(path, buf, cap_bytes, max_ratio)
    if len(buf) >= 0x40 and _is_arm64_image(buf):
        return Payload(path=path, kind=KIND_ARM64_IMAGE, codec=None, file_size_bytes=len(buf),
                       compressed_size_bytes=len(buf), stream_offset=None, data=buf, payload_is_elf=False,
                       header=arm64_header(buf), notes=(ARM64_NOTE,))
    endian = _zimage_endian(buf)
    if endian is not None:
        return _read_zimage(path, buf, cap_bytes, max_ratio, endian)
    codec = codec_at(buf, 0)
    if codec is not None:
        prefix, why = _probe_or_error(codec, buf, 0, cap_bytes)
        if prefix is None:
            # Not a stream after all (or a corrupt one): look further, as extract-vmlinux does.
            found = _scan(path, buf, 1, cap_bytes, max_ratio)
            if found is None:
                raise CompressedImageError(f"corrupt {codec} payload at offset 0: {why}", path=path)
            return _vmlinuz(path, buf, found)
        # A compressed file as a whole: vmlinux.xz, Image.gz, vmlinux.bin.zst + trailer ...
        data, end = decode_stream_mapped(path, codec, buf, 0, len(buf), cap_bytes, max_ratio=max_ratio)
        trailer = _trailer_after(buf, end, len(data), True, path)
        compressed = end + (4 if trailer is not None else 0)
        if data[:4] == ELF_MAGIC:
            return Payload(path=path, kind=KIND_RAW_COMPRESSED, codec=codec, file_size_bytes=len(buf),
                           compressed_size_bytes=compressed, stream_offset=0, data=data, payload_is_elf=True,
                           size_trailer_bytes=trailer)
        if len(data) >= 0x40 and _is_arm64_image(data):
            return Payload(path=path, kind=KIND_ARM64_IMAGE, codec=codec, file_size_bytes=len(buf),
                           compressed_size_bytes=compressed, stream_offset=0, data=data, payload_is_elf=False,
                           size_trailer_bytes=trailer, header=arm64_header(data), notes=(ARM64_NOTE,))
        raise InputError(f"a {codec} file that holds neither an ELF nor an arm64 Image", path=path,
                         hint="for a compressed .config (/proc/config.gz) use `cpualloc extract --ikconfig`")
    found = _scan(path, buf, 0, cap_bytes, max_ratio)
    if found is None:
        raise InputError("not a kernel image: no ELF, bzImage, zImage or arm64 Image header, and no "
                         "compressed stream that decodes to an ELF", path=path)
    return _vmlinuz(path, buf, found)


def _vmlinuz(path: str, buf: bytes, found: tuple[str, int, bytes | mmap.mmap, int, int | None]) -> Payload:
    codec, offset, data, end, trailer = found
    is_elf = data[:4] == ELF_MAGIC
    kind = KIND_VMLINUZ if is_elf else KIND_ARM64_IMAGE
    return Payload(path=path, kind=kind, codec=codec, file_size_bytes=len(buf),
                   compressed_size_bytes=end - offset + (4 if trailer is not None else 0), stream_offset=offset,
                   data=data, payload_is_elf=is_elf, size_trailer_bytes=trailer,
                   header=() if is_elf else arm64_header(data), notes=() if is_elf else (ARM64_NOTE,))
