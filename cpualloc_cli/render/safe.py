"""Strings from input (symbol and section names, paths, .config lines, policy text) made safe
for a terminal and for rich.

Every renderer passes such strings through here before they reach rich or a plain text
stream: control characters would otherwise drive the terminal (ESC sequences clear the
screen, OSC sets the window title, CR overwrites a line), and `[bold]` or `[/]` in a name
would be read as rich markup (a stray `[/]` is a MarkupError: exit 4).

- `clean(s)`: C0 controls, DEL, C1 controls and the Unicode bidi overrides become visible
  escapes (`\\x1b`, `\\x7f`, `\\u202e`); a backslash is left as it is. Everything else is kept.
- `text(s)`: a `rich.text.Text` of the cleaned string (never parsed as markup): prefer it.
- `markup(s)`: the cleaned string escaped for use inside a rich markup string.
"""

from __future__ import annotations

import re
from typing import Any

# C0 (0x00-0x1f), DEL (0x7f), C1 (0x80-0x9f), and the bidi embedding/override/isolate marks
# (U+202A-U+202E, U+2066-U+2069) that can make a name display as something else.
# Also the undecodable bytes 0x80-0x9f of a name read with surrogateescape (U+DC80-U+DC9F): written
# back out raw they are C1 controls to an 8-bit terminal.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\udc80-\udc9f]")


def _visible(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    if 0xDC80 <= c <= 0xDC9F:
        return f"\\x{c - 0xDC00:02x}"
    return f"\\x{c:02x}" if c <= 0xFF else f"\\u{c:04x}"


def clean(s: object) -> str:
    """`str(s)` with every control character shown as a visible escape."""
    text_ = s if isinstance(s, str) else str(s)
    return _UNSAFE.sub(_visible, text_)


def markup(s: object) -> str:
    """`clean(s)` escaped for a rich markup string (`[bold]` prints as `[bold]`)."""
    from rich.markup import escape

    return escape(clean(s))


def text(s: object, style: str = "") -> Any:
    """A rich Text of `clean(s)`: shown literally, never read as markup."""
    from rich.text import Text

    return Text(clean(s), style=style)
