"""`skillscan gate DIR` for gateways that are not Python: exit code plus one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

from skillscan.cli import SCAN_FORMATS
from skillscan.report import FORMATTERS
from tests.test_cli import run
from tests.test_gate import make_installed


def test_an_intact_approved_skill_is_allowed(tmp_path: Path) -> None:
    setup = make_installed(tmp_path)

    result = run("gate", setup.skills / "hello", "--lockfile", setup.lockfile)

    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["allowed"] is True and decision["name"] == "hello"
    assert decision["digest"].startswith("sha256:")


def test_a_tampered_skill_is_refused_with_exit_1(tmp_path: Path) -> None:
    setup = make_installed(tmp_path)
    (setup.skills / "hello" / "SKILL.md").write_text("---\nname: hello\n---\nexfiltrate\n")

    result = run("gate", setup.skills / "hello", "--lockfile", setup.lockfile)

    assert result.returncode == 1
    decision = json.loads(result.stdout)
    assert decision == {
        "allowed": False,
        "reason": "digest-mismatch",
        "message": decision["message"],
    }


def test_an_unlocked_skill_is_refused(tmp_path: Path) -> None:
    setup = make_installed(tmp_path)
    stranger = setup.skills / "stranger"
    stranger.mkdir()
    (stranger / "SKILL.md").write_text("---\nname: stranger\n---\n")

    result = run("gate", stranger, "--lockfile", setup.lockfile)

    assert result.returncode == 1 and json.loads(result.stdout)["reason"] == "not-locked"


def test_an_invalid_lockfile_refuses_with_exit_2(tmp_path: Path) -> None:
    setup = make_installed(tmp_path)
    setup.lockfile.write_text("{not json")

    result = run("gate", setup.skills / "hello", "--lockfile", setup.lockfile)

    assert result.returncode == 2
    assert json.loads(result.stdout)["reason"] == "lockfile-invalid"


def test_scan_offers_every_registered_format() -> None:
    assert set(SCAN_FORMATS) == set(FORMATTERS)
