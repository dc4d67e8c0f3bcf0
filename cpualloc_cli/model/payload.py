"""What a kernel image file holds: its container, its codec and its decompressed payload.

Built by :func:`cpualloc_cli.adapters.decompress.read_image_payload`; stdlib only.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from typing import Final

#: Container kinds, detected by content (never by file name).
KIND_ELF: Final = "elf"                    # an ELF file: nothing to decompress
KIND_BZIMAGE: Final = "bzImage"            # x86 boot image with a setup header ("HdrS" at 0x202)
KIND_VMLINUZ: Final = "vmlinuz"            # some stub, then a compressed ELF found by scanning
KIND_ARM64_IMAGE: Final = "arm64-image"    # arm64 Image ("ARM\x64" at 0x38), or Image.gz/.xz/... of one
KIND_ARM_ZIMAGE: Final = "arm-zimage"      # arm zImage (0x016f2818 at 0x24)
KIND_RAW_COMPRESSED: Final = "raw-compressed"  # a compressed stream at offset 0 holding an ELF (vmlinux.xz)

KINDS: Final = (KIND_ELF, KIND_BZIMAGE, KIND_VMLINUZ, KIND_ARM64_IMAGE, KIND_ARM_ZIMAGE, KIND_RAW_COMPRESSED)

#: Codecs Linux can compress a kernel with (CONFIG_KERNEL_*).
CODECS: Final = ("gzip", "xz", "lzma", "bzip2", "lzo", "lz4", "zstd")

HeaderValue = int | str


@dataclass(frozen=True, slots=True)
class Payload:
    """One kernel image file, opened.

    `data` is the decompressed payload (a vmlinux ELF for bzImage/vmlinuz, a raw binary for
    arm/arm64), or None when the file is itself an ELF (read it with the ELF adapter directly).
    A payload past 64 MiB is a read-only `mmap` of an unlinked temporary file (it slices,
    finds and writes like bytes) instead of bytes held in memory.
    `header` holds the container's header fields as (name, value) pairs, in file order.
    """

    path: str
    kind: str
    codec: str | None
    file_size_bytes: int
    #: the compressed stream's length (bzImage: payload_length; otherwise the stream as decoded,
    #: plus its size trailer when there is one; the file size when nothing is compressed)
    compressed_size_bytes: int
    #: where the compressed stream starts in the file (None when nothing is compressed)
    stream_offset: int | None
    data: bytes | mmap.mmap | None = field(repr=False)
    payload_is_elf: bool
    #: the uncompressed size Kbuild appended after the stream (size_append), when present
    size_trailer_bytes: int | None = None
    header: tuple[tuple[str, HeaderValue], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def decompressed_size_bytes(self) -> int | None:
        return None if self.data is None else len(self.data)

    def header_value(self, name: str) -> HeaderValue | None:
        for key, value in self.header:
            if key == name:
                return value
        return None
