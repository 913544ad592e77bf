"""The `weightguard` command the wheel installs: the Rust CLI, run by the console script."""

import os
import signal
import subprocess

import weightguard

from conftest import AS_OF


def test_version_names_the_package_version_and_the_schema(cli):
    done = cli.run("--version")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first == f"weightguard {weightguard.__version__}"
    assert f"schema {weightguard.SCHEMA_VERSION}" in done.stdout
    assert f"policy {weightguard.DEFAULT_POLICY}" in done.stdout


def test_help_and_usage_errors_exit_as_the_binary_does(cli):
    done = cli.run("--help")
    assert done.returncode == 0
    assert "Usage: weightguard" in done.stdout
    done = cli.run("gate")
    assert done.returncode == 2
    assert "--destination" in done.stderr


def test_the_command_gates_with_its_exit_status(safetensors_model, controlled_record, cli):
    path, params = safetensors_model
    human = cli.run(
        "gate",
        str(path),
        "--destination",
        "CN",
        "--training-record",
        str(controlled_record),
        "--as-of",
        AS_OF,
    )
    assert human.returncode == 4, human.stderr
    assert "DENIED" in human.stdout
    [model] = cli.json_lines("inspect", str(path))
    assert model["parameters"]["total"] == params


def test_a_reader_that_stops_early_ends_the_command_quietly(safetensors_model, cli):
    path, _ = safetensors_model
    # `weightguard hash … | head -c 1`: the closed pipe ends the command with 141, no traceback.
    p = subprocess.Popen(
        [str(cli.path), "hash", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert p.stdout is not None
    p.stdout.read(1)
    p.stdout.close()
    _, err = p.communicate(timeout=600)
    assert p.returncode in (0, 141), err
    assert b"Traceback" not in err and b"panicked" not in err



def test_ctrl_c_ends_the_command_as_the_binary_does(tmp_path, cli):
    # The command hashes a pipe we hold open without writing: once our open returns it has opened
    # the pipe, so the CLI (and its signal handler) is running; SIGINT then ends it with 130.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    p = subprocess.Popen(
        [str(cli.path), "hash", str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with open(fifo, "wb"):
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=600)
    assert p.returncode == 130, err
    assert b"interrupted by SIGINT" in err
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
