"""The structure analyzer on binary files: assets pass, opaque blobs and bytecode are flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillscan.analyzers import structure
from skillscan.signatures import load_signatures
from skillscan.skill import load_skill
from tests.conftest import write_skill

SIGNATURES = load_signatures()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", set()),
        ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", set()),
        ("clip.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00", set()),
        ("font.ttf", b"\x00\x01\x00\x00\x00\x0e\x00\x80", set()),
        ("doc.pdf", b"%PDF-1.7\n\x00\x01\x02stream\x00\x03", set()),
        ("arr.npy", b"\x93NUMPY\x01\x00v\x00", set()),
        ("tool.cpython-312.pyc", b"\xcb\r\r\n\x00\x00\x00\x00\x8a\x01", {"SKS-STRUCT-010"}),
        ("model.pkl", b"\x80\x04\x95\x1a\x00\x00\x00\x00\x00", {"SKS-STRUCT-010"}),
        ("payload.bin", bytes(range(256)) * 4, {"SKS-STRUCT-010"}),
        ("tool", b"\x7fELF\x02\x01\x01\x00\x00\x00", {"SKS-STRUCT-005"}),
        ("x.zip", b"PK\x03\x04\x14\x00\x00\x00", {"SKS-STRUCT-006"}),
    ],
)
def test_binary_files(tmp_path: Path, name: str, data: bytes, expected: set[str]) -> None:
    skill = load_skill(write_skill(tmp_path / "skill", {f"assets/{name}": data}))
    assert {f.rule_id for f in structure.analyze(skill, SIGNATURES)} == expected
