"""The built wheel carries signatures/ and registry/, and an installed copy finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_ships_the_data_and_finds_it_installed(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next((tmp_path / "dist").glob("skillscan_registry-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "skillscan/_data/signatures/VERSION" in names
    assert any(n.startswith("skillscan/_data/signatures/semgrep/") for n in names)
    assert any(n.startswith("skillscan/_data/registry/") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)

    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import skillscan, skillscan.signatures as s; "
            "print(skillscan.__file__); print(s.load_signatures().root); "
            "print(len(s.load_signatures().rules))",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    module, bundle, count = probe.stdout.split()
    assert module.startswith(str(site))
    assert bundle == str(site / "skillscan" / "_data" / "signatures")
    assert int(count) > 0
