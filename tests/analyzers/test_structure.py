"""The structure analyzer on binary files: assets pass, opaque blobs and bytecode are flagged."""

from __future__ import annotations

import py_compile
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
        # a .pyc no source stands beside, outside __pycache__: code nobody can review
        ("tool.cpython-312.pyc", b"\xcb\r\r\n\x00\x00\x00\x00\x8a\x01", {"SKS-STRUCT-011"}),
        ("old.pyc", b"\x03\xf3\r\n\x00\x01\x02\x03c\x00\x00", {"SKS-STRUCT-011"}),  # 2.7
        ("model.pkl", b"\x80\x04\x95\x1a\x00\x00\x00\x00\x00", {"SKS-STRUCT-010"}),
        ("payload.bin", bytes(range(256)) * 4, {"SKS-STRUCT-010"}),
        ("tool", b"\x7fELF\x02\x01\x01\x00\x00\x00", {"SKS-STRUCT-005"}),
        ("x.zip", b"PK\x03\x04\x14\x00\x00\x00", {"SKS-STRUCT-006"}),
    ],
)
def test_binary_files(tmp_path: Path, name: str, data: bytes, expected: set[str]) -> None:
    skill = load_skill(write_skill(tmp_path / "skill", {f"assets/{name}": data}))
    assert {f.rule_id for f in structure.analyze(skill, SIGNATURES)} == expected


SOURCE = "def run():\n    return 1\n"
TIMESTAMP = py_compile.PycInvalidationMode.TIMESTAMP
CHECKED = py_compile.PycInvalidationMode.CHECKED_HASH
UNCHECKED = py_compile.PycInvalidationMode.UNCHECKED_HASH


def _compiled(tmp_path: Path, mode: py_compile.PycInvalidationMode) -> bytes:
    """Real bytecode of SOURCE, as the running Python writes it (compiled, never run)."""
    source = tmp_path / "src" / "helper.py"
    source.parent.mkdir(exist_ok=True)
    source.write_text(SOURCE, encoding="utf-8")
    target = tmp_path / "src" / f"helper-{mode.name}.pyc"
    py_compile.compile(str(source), cfile=str(target), invalidation_mode=mode, doraise=True)
    return target.read_bytes()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # a cache beside its source: a stale build artefact, reviewed through the source
        (
            {"scripts/helper.py": SOURCE, "scripts/__pycache__/helper.cpython-3.pyc": TIMESTAMP},
            "010",
        ),
        ({"scripts/helper.py": SOURCE, "scripts/__pycache__/helper.cpython-3.pyc": CHECKED}, "010"),
        # legacy bytecode beside its source: import prefers the .py
        ({"scripts/helper.py": SOURCE, "scripts/helper.pyc": TIMESTAMP}, "010"),
        # an orphaned cache: import ignores it (PEP 3147); only `python <file>` runs it
        ({"scripts/__pycache__/helper.cpython-3.pyc": TIMESTAMP}, "010"),
        # unchecked hash: import loads it and never looks at the source beside it
        (
            {"scripts/helper.py": SOURCE, "scripts/__pycache__/helper.cpython-3.pyc": UNCHECKED},
            "011",
        ),
        # sourceless: `import helper` loads it, `python helper.pyc` runs it
        ({"scripts/main.py": "import helper\n", "scripts/helper.pyc": TIMESTAMP}, "011"),
        ({"scripts/helper.pyc": CHECKED}, "011"),
        # bytecode under a source name: `python run.py` runs it as bytecode
        ({"scripts/run.py": TIMESTAMP}, "011"),
    ],
)
def test_python_bytecode_by_how_python_uses_it(
    tmp_path: Path, files: dict[str, object], expected: str
) -> None:
    written = {
        path: _compiled(tmp_path, content)
        if isinstance(content, py_compile.PycInvalidationMode)
        else str(content)
        for path, content in files.items()
    }
    skill = load_skill(write_skill(tmp_path / "skill", written))

    found = {f.rule_id for f in structure.analyze(skill, SIGNATURES)}

    assert found == {f"SKS-STRUCT-{expected}"}
