"""Output formats behind one interface: adding a format never touches the scan code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from skillscan.model import ScanResult
from skillscan.report import json, markdown, sarif, text


class Formatter(Protocol):
    """Renders a whole scan result as one document."""

    name: str

    def render(self, result: ScanResult, *, color: bool = False) -> str:
        """The document, ending with a newline."""
        ...


FORMATTERS: Mapping[str, Formatter] = {
    f.name: f
    for f in (
        text.TextFormatter(),
        json.JsonFormatter(),
        sarif.SarifFormatter(),
        markdown.MarkdownFormatter(),
    )
}
