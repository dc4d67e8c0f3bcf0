"""Run the cpualloc CLI with the ELF adapter's exception fence removed (for `run.py --self-test`).

    python fuzz/unfenced.py [--keep-fence] [--no-prechecks] inspect FILE ...

No test hook in production code: this wrapper replaces
``cpualloc_cli.adapters.elf._fenced`` with a context manager that does nothing, then runs the
real ``cpualloc_cli.cli.main()``. pyelftools' exceptions then escape to the top level as
exit 4, which the harness must report.

The adapter also checks every section extent itself before pyelftools sees the file
(``_check_section_names``, added from this harness's findings), and parses the headers with
pyelftools' ELFStructs rather than ELFFile, so with only the fence gone nothing is expected to
escape. ``--no-prechecks`` removes those checks too, and then the #612 kind escape:
ValueError/OverflowError from reads past the end, struct and construct errors.
``--keep-fence --no-prechecks`` is the adapter as it was before
those checks (used to minimize the inputs that led to them).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def _no_fence(path: str, what: str) -> Iterator[None]:
    del path, what
    yield


def _no_check(*args: object) -> None:
    del args


def remove_fence(prechecks: bool = False, fence: bool = True) -> None:
    import cpualloc_cli.adapters.elf as elf

    if fence:
        elf._fenced = _no_fence
    if prechecks:
        elf._check_section_names = _no_check  # type: ignore[assignment]


def main() -> None:
    argv = sys.argv[1:]
    flags = set()
    while argv and argv[0] in ("--no-prechecks", "--keep-fence"):
        flags.add(argv.pop(0))
    remove_fence("--no-prechecks" in flags, "--keep-fence" not in flags)
    from cpualloc_cli.cli import main as cli_main

    cli_main(argv)


if __name__ == "__main__":
    main()
