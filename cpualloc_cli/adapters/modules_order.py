"""The module list of a build or an installed tree: `modules.order` (one path a line,
relative to the directory holding it; `.o` in kernels >= 6.2 where earlier ones write `.ko`).
An installed tree may hold each module compressed (`.ko.xz`, `.ko.zst`, `.ko.gz`)."""

from __future__ import annotations

import os

from cpualloc_cli.errors import InputError

MAX_ORDER_BYTES = 16 * 1024 * 1024  # ~4,000 lines of ~60 bytes each in a distribution tree
SUFFIXES = ("", ".xz", ".zst", ".gz")


def modules_in_order(build_dir: str) -> list[str]:
    """The module files `build_dir/modules.order` names, in its order. A line whose file is
    absent is kept (as its .ko path) so that the reader reports it as that file's error."""
    order = os.path.join(build_dir, "modules.order")
    try:
        with open(order, "rb") as fh:
            raw = fh.read(MAX_ORDER_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read modules.order: {exc.strerror or exc}", path=order,
                         hint="--build-dir takes the kernel build directory (O=) or lib/modules/VERSION") from None
    if len(raw) > MAX_ORDER_BYTES:
        raise InputError(f"modules.order is larger than {MAX_ORDER_BYTES} bytes", path=order)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"modules.order is not UTF-8 (byte {exc.start})", path=order) from None
    files: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry:
            continue
        if "\0" in entry or os.path.isabs(entry) or ".." in entry.split("/"):
            raise InputError("not a module path relative to the tree", path=order, line=number)
        if entry.endswith(".o"):
            entry = entry[:-2] + ".ko"
        base = os.path.join(build_dir, entry)
        files.append(next((base + s for s in SUFFIXES if os.path.isfile(base + s)), base))
    return files
