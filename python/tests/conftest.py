"""Fixtures of the Python package's tests: model files written by the reference writers (the
`safetensors` and `gguf` packages), and the `weightguard` command the wheel installed."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import pytest

#: A fixed evaluation date, so that decisions do not change from day to day.
AS_OF = "2026-07-23"

#: A training record declaring more than 10^26 operations: a controlled model under the default
#: policy.
CONTROLLED_RECORD = """\
[model]
name = "frontier"
published = false

[[stage]]
name = "pre"
kind = "pretraining"
operations = 2e26
"""


class Cli:
    """The `weightguard` command of the venv the tests run in (the wheel's console script)."""

    def __init__(self) -> None:
        self.path = Path(sys.executable).parent / "weightguard"
        assert self.path.is_file(), f"the wheel installed no command at {self.path}"

    def run(self, *args: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, NO_COLOR="1")
        return subprocess.run(
            [str(self.path), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )

    def json_lines(self, *args: str, expect: int = 0) -> List[dict]:
        """Runs the command with `--json`; every line of its output, parsed."""
        done = self.run(*args, "--json")
        assert done.returncode == expect, (done.returncode, done.stderr)
        return [json.loads(line) for line in done.stdout.splitlines()]

    def json(self, *args: str, expect: int = 0) -> dict:
        [one] = self.json_lines(*args, expect=expect)
        return one

    def error(self, *args: str) -> Tuple[int, str]:
        """Runs a command that must fail: its exit status and its `error:` message."""
        done = self.run(*args)
        assert done.returncode != 0, done.stdout
        lines = [l for l in done.stderr.splitlines() if l.startswith("error: ")]
        assert lines, done.stderr
        return done.returncode, lines[0][len("error: ") :]


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli()


def write_safetensors(path: Path) -> int:
    """A small transformer-shaped safetensors file, written by the `safetensors` package;
    returns its parameter count."""
    from safetensors.numpy import save_file

    tensors = {
        "model.embed_tokens.weight": np.zeros((64, 16), dtype=np.float32),
        "model.layers.0.mlp.up_proj.weight": np.ones((32, 16), dtype=np.float16),
        "model.layers.0.mlp.down_proj.weight": np.ones((16, 32), dtype=np.float16),
        "model.norm.weight": np.ones((16,), dtype=np.float32),
        "lm_head.weight": np.zeros((64, 16), dtype=np.float16),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return sum(t.size for t in tensors.values())


def write_gguf(path: Path) -> int:
    """A small llama-shaped GGUF file, written by the `gguf` package; returns its parameter
    count."""
    import gguf

    tensors = {
        "token_embd.weight": np.zeros((32, 8), dtype=np.float32),
        "blk.0.ffn_up.weight": np.ones((24, 8), dtype=np.float16),
        "output_norm.weight": np.ones((8,), dtype=np.float32),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    for name, t in tensors.items():
        w.add_tensor(name, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return sum(t.size for t in tensors.values())


@pytest.fixture
def safetensors_model(tmp_path: Path) -> Tuple[Path, int]:
    path = tmp_path / "model.safetensors"
    return path, write_safetensors(path)


@pytest.fixture
def gguf_model(tmp_path: Path) -> Tuple[Path, int]:
    path = tmp_path / "model.gguf"
    return path, write_gguf(path)


@pytest.fixture
def controlled_record(tmp_path: Path) -> Path:
    """A training record declaring 2e26 operations, in a directory of its own (not beside any
    weights, so it applies only where named)."""
    path = tmp_path / "records" / "frontier.toml"
    path.parent.mkdir()
    path.write_text(CONTROLLED_RECORD)
    return path


def reasons(decision: dict) -> List[Tuple[str, str]]:
    return [(r["rule"], r["outcome"]) for r in decision["reasons"]]


def rule_outcome(decision: dict, rule: str) -> Optional[str]:
    found = [o for r, o in reasons(decision) if r == rule]
    return found[-1] if found else None
