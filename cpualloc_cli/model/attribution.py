"""Attribution of an image's allocated bytes to source paths: a tree with bytes per kind."""

from __future__ import annotations

from dataclasses import dataclass, field

#: the kinds a node's bytes are split into (model.diff.Kind values, without other/mixed)
KINDS = ("text", "data", "rodata", "bss", "percpu", "init")
#: rows of their own, never spread over paths
UNATTRIBUTED_NO_UNIT = "[no compile unit]"  # a sized symbol the DWARF does not place
UNATTRIBUTED_NO_SYMBOL = "[no symbol]"  # section bytes no sized symbol covers
OTHERS = "[{n} others]"


@dataclass(slots=True)
class AttributionNode:
    """One path (file or directory) with its bytes by kind and its children by name."""

    name: str
    bytes_by_kind: dict[str, int] = field(default_factory=dict)
    children: dict[str, AttributionNode] = field(default_factory=dict)
    symbol_count: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_by_kind.values())


@dataclass(frozen=True, slots=True)
class Attribution:
    """The tree, how it was made, and GNU size's Berkeley columns of the same bytes."""

    by: str  # "file" or "dir:N"
    method: str  # "dwarf" (compile units), "none"
    root: AttributionNode
    berkeley: tuple[tuple[str, int], ...]  # (text|data|bss, bytes) over the attributed sections
    notes: tuple[str, ...] = ()
