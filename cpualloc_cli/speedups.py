"""Which symbol path is in use: the compiled C extension (`cpualloc_cli._csymbols`, built at
install time when a C compiler is present) or the pure-Python code, which is the fallback and
the reference the tests compare the compiled path against (issue 14).

Set CPUALLOC_PURE_PYTHON=1 to use the pure-Python path even when the extension is built.
Callers read :data:`csymbols` at call time, so a test can switch paths in-process.
"""

from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("CPUALLOC_PURE_PYTHON"):
        return None
    try:
        from cpualloc_cli import _csymbols
    except ImportError:  # not built (no compiler at install time), or built for another Python
        return None
    return _csymbols


csymbols: ModuleType | None = _load()


def symbol_path() -> str:
    """`compiled` or `pure Python`, with why, for `cpualloc --version`."""
    if csymbols is not None:
        return "compiled (C extension cpualloc_cli._csymbols)"
    if os.environ.get("CPUALLOC_PURE_PYTHON"):
        return "pure Python (CPUALLOC_PURE_PYTHON is set)"
    return "pure Python (the C extension is not built)"
