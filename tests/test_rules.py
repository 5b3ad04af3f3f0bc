"""Every rule of the signature bundle proves itself: a fixture that fires and one that does not.

Inline fixtures (`fires` / `ok` in signatures/rules/*.yaml) and semgrep's annotated fixture
files (`# ruleid:` / `# ok:` beside each rule in signatures/semgrep/) are all scanned in one
real run (real semgrep). A rule without both kinds of fixture fails, unless its trigger
cannot be written as text and it names the test that proves it (`options.tested_by`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from skillscan.model import SkillReport
from skillscan.scan import ScanOptions, scan_roots
from skillscan.signatures import load_signatures
from tests.conftest import write_skill

SIGNATURES = load_signatures()
ROOT = Path(__file__).resolve().parent.parent
ANNOTATION = re.compile(r"(?:#|//)\s*(ruleid|ok):\s*(SKS-[A-Z0-9-]+)")

INLINE_CASES = [
    (rule.id, kind, index)
    for rule in SIGNATURES.rules.values()
    for kind in ("fires", "ok")
    for index in range(len(getattr(rule, kind)))
]


def _semgrep_fixtures() -> list[Path]:
    return sorted(p for p in SIGNATURES.semgrep_dir.iterdir() if p.suffix not in (".yaml", ".yml"))


def _annotations() -> list[tuple[str, int, str, str]]:
    """(fixture file, line the annotation applies to, kind, rule id)."""
    out = []
    for path in _semgrep_fixtures():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = ANNOTATION.search(line)
            if match:
                out.append((path.name, number + 1, match.group(1), match.group(2)))
    return out


ANNOTATIONS = _annotations()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SkillReport]:
    base = tmp_path_factory.mktemp("rule-fixtures")
    roots = []
    for rule_id, kind, index in INLINE_CASES:
        fixture = getattr(SIGNATURES.rules[rule_id], kind)[index]
        roots.append(write_skill(base / f"{rule_id}-{kind}-{index}", fixture))
    semgrep_files = {p.name: p.read_text(encoding="utf-8") for p in _semgrep_fixtures()}
    roots.append(write_skill(base / "semgrep-fixtures", semgrep_files))
    result = scan_roots(roots, ScanOptions(jobs=2))
    return {Path(r.path).name: r for r in result.reports}


def test_every_rule_proves_itself() -> None:
    annotated = {(kind, rule_id) for _, _, kind, rule_id in ANNOTATIONS}
    missing = []
    for rule in SIGNATURES.rules.values():
        if rule.analyzer == "semgrep" and rule.id in {r for _, r in annotated}:
            if ("ruleid", rule.id) not in annotated or ("ok", rule.id) not in annotated:
                missing.append(f"{rule.id}: needs both '# ruleid:' and '# ok:' fixture lines")
            continue
        tested_by = rule.options.get("tested_by")
        if isinstance(tested_by, str):
            file, _, name = tested_by.partition("::")
            path = ROOT / file
            if not path.is_file() or f"def {name}(" not in path.read_text(encoding="utf-8"):
                missing.append(f"{rule.id}: tested_by {tested_by} does not exist")
        elif not rule.fires or not rule.ok:
            missing.append(f"{rule.id}: needs at least one 'fires' and one 'ok' fixture")
    assert missing == []


@pytest.mark.parametrize(("rule_id", "kind", "index"), INLINE_CASES)
def test_inline_fixture(
    reports: dict[str, SkillReport], rule_id: str, kind: str, index: int
) -> None:
    report = reports[f"{rule_id}-{kind}-{index}"]
    fired = [f for f in report.findings if f.rule_id == rule_id]
    if kind == "fires":
        assert fired, f"{rule_id} did not fire on its fixture #{index}: {report.findings}"
    else:
        assert not fired, f"{rule_id} fired on its 'ok' fixture #{index}: {fired}"


@pytest.mark.parametrize(("file", "line", "kind", "rule_id"), ANNOTATIONS)
def test_semgrep_fixture(
    reports: dict[str, SkillReport], file: str, line: int, kind: str, rule_id: str
) -> None:
    report = reports["semgrep-fixtures"]
    assert not [f for f in report.findings if f.rule_id.startswith("SKS-SCAN")], report.findings
    hits = [
        f for f in report.findings if f.rule_id == rule_id and f.file == file and f.line == line
    ]
    assert bool(hits) == (kind == "ruleid"), f"{rule_id} at {file}:{line} ({kind})"
