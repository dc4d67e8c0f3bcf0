"""The one error family of cpualloc.

Every error the tool expects derives from :class:`CpuallocError` and knows its exit code.
Adapters translate library exceptions into these at one fence; anything else that escapes
is a bug and becomes exit 4 in the CLI.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_INTERNAL = 4


class CpuallocError(Exception):
    """Root of every error cpualloc raises on purpose."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint

    def one_line(self) -> str:
        """`PATH[:LINE]: what went wrong; hint`, without the `cpualloc: error:` prefix."""
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        text = f"{where}{self.message}"
        if self.hint:
            text += f"; {self.hint}"
        return " ".join(text.split("\n"))


class UsageError(CpuallocError):
    """The command line asks for something that cannot be done (exit 2)."""

    exit_code = EXIT_USAGE


class InputError(CpuallocError):
    """Bad or unreadable input: missing, not ELF, truncated, malformed (exit 3)."""

    exit_code = EXIT_INPUT


class ElfFormatError(InputError):
    """An ELF file that cannot be read as one."""


class CompressedImageError(InputError):
    """A compressed kernel image whose payload cannot be found or decoded."""


class DecompressionLimitError(CompressedImageError):
    """Decompressed output would exceed the cap (a bomb, or a lying size trailer)."""


class ConfigError(InputError):
    """A `.config` that cannot be read or decoded, or a Kconfig tree that cannot be parsed."""


class PolicyError(InputError):
    """A limits database or policy file that is malformed."""


class InternalError(CpuallocError):
    """A broken invariant inside cpualloc (exit 4)."""

    exit_code = EXIT_INTERNAL
