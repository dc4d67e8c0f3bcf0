#!/usr/bin/env python3
"""Optional coverage-guided target for the ELF adapter, for people who have Atheris
(``pip install atheris``; libFuzzer options pass through):

    python fuzz/atheris_elf.py -max_total_time=600 -rss_limit_mb=1024 my_corpus/

Seeds: copy the ELF fixtures into the corpus folder first (``tests/fixtures/elf/*/vmlinux``).
Anything ``read_elf_bytes`` raises other than :class:`~cpualloc_cli.errors.InputError` (of which
ElfFormatError is one) is a finding: it would be exit 4 in the CLI. Messages are judged by the
same rule as fuzz/run.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def main() -> None:
    try:
        import atheris  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris (needs clang/libFuzzer)")

    with atheris.instrument_imports():
        from cpualloc_cli.adapters.elf import read_elf_bytes
        from cpualloc_cli.errors import InputError
    from run import message_problem

    name = "fuzz-input.elf"

    def one_input(data: bytes) -> None:
        try:
            read_elf_bytes(data, name)
        except InputError as exc:
            problem = message_problem(f"cpualloc: error: {exc.one_line()}\n", [name])
            if problem:
                raise AssertionError(f"unclear message: {problem}") from exc

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
