"""The README's porting example: its PyTorch script runs on PyTorch, and the same text with
only the import lines swapped for the README's minicnn imports runs on minicnn (so the
README cannot rot)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _block(text, marker):
    match = re.search(rf"<!-- port-example: {marker} -->\n```python\n(.*?)```", text, re.S)
    assert match, f"README.md has no port-example block {marker!r}"
    return match.group(1)


def _scripts():
    text = (ROOT / "README.md").read_text()
    original, imports = _block(text, "pytorch"), _block(text, "minicnn")
    import_lines = imports.strip().splitlines()
    head = original.splitlines()[:len(import_lines)]
    assert all(line.startswith(("import torch", "from torch")) for line in head), head
    ported = "\n".join(import_lines + original.splitlines()[len(import_lines):]) + "\n"
    assert "torch" not in imports.replace("as torch", "")
    return original, ported


@pytest.mark.parametrize("version", ["pytorch", "minicnn"])
def test_readme_port_example_runs(version, tmp_path):
    original, ported = _scripts()
    script = tmp_path / "train.py"
    script.write_text(original if version == "pytorch" else ported)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["epoch 0", "epoch 1", "epoch 2"]
    assert (tmp_path / "checkpoint.pt").exists()
    if version == "minicnn":  # written by minicnn.save: an .npz archive, no pickle
        import numpy as np

        with np.load(tmp_path / "checkpoint.pt", allow_pickle=False) as archive:
            assert "__meta__" in archive.files
