"""The Python API as a user calls it, on files written by the reference writers, compared with
the `weightguard` command's `--json` output for the same path and flags."""

import datetime
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import weightguard
from weightguard import UsageError, WeightguardError

from conftest import AS_OF, rule_outcome, write_gguf, write_safetensors


def test_the_package_is_the_installed_wheel():
    # Not the source tree: the tests run the wheel as a user gets it.
    assert "site-packages" in weightguard.__file__
    assert weightguard.SCHEMA_VERSION == 1
    assert weightguard.DEFAULT_POLICY


@pytest.mark.parametrize(
    "write, name, fmt",
    [(write_safetensors, "model.safetensors", "safetensors"), (write_gguf, "model.gguf", "gguf")],
)
def test_inspect_counts_parameters_as_the_cli_does(tmp_path, cli, write, name, fmt):
    path = tmp_path / name
    expected = write(path)
    result = weightguard.inspect(path)
    assert result == cli.json_lines("inspect", str(path))
    [model] = result
    assert model["schema_version"] == 1
    assert model["format"] == fmt
    assert model["parameters"]["total"] == expected
    assert model["tensor_count"] == (5 if fmt == "safetensors" else 3)
    # A str path and a PathLike give the same object.
    assert weightguard.inspect(str(path)) == result


def test_inspect_with_hash_gives_the_root_that_hash_gives(safetensors_model, cli):
    path, _ = safetensors_model
    [model] = weightguard.inspect(path, hash=True)
    assert [model] == cli.json_lines("inspect", str(path), "--hash")
    digests = weightguard.hash(path)
    assert digests == cli.json("hash", str(path))
    assert model["root"] == digests["root"]
    assert len(digests["root"]) == 64


def test_hash_flags_mirror_the_cli(gguf_model, cli):
    path, _ = gguf_model
    whole = weightguard.hash(path, b3sum=True, no_mmap=True)
    assert whole == cli.json("hash", str(path), "--b3sum", "--no-mmap")
    [f] = whole["files"]
    assert len(f["blake3"]) == 64
    # Without --b3sum a weight file has per-segment digests only; the root is the same.
    assert weightguard.hash(path)["root"] == whole["root"]


#: Run in a child process: if `hash` held the GIL while it read the pipe, the writer below could
#: never run, and the child would hang until the test's timeout ends it, rather than the test run.
GIL_CHECK = """
import os, sys, threading, weightguard
fifo, plain = sys.argv[1], sys.argv[2]
data = b"weights from a pipe\\n" * 1000
results = {}
reader = threading.Thread(target=lambda: results.update(digests=weightguard.hash(fifo)))
reader.start()
with open(fifo, "wb") as w:
    w.write(data)
reader.join()
with open(plain, "wb") as f:
    f.write(data)
[piped] = results["digests"]["files"]
[regular] = weightguard.hash(plain)["files"]
assert piped["blake3"] == regular["blake3"], (piped, regular)
print("ok")
"""


def test_hash_releases_the_gil(tmp_path):
    # hash() reads a named pipe that only another Python thread writes to.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-c", GIL_CHECK, str(fifo), str(tmp_path / "plain.bin")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


def test_estimate_with_tokens_matches_the_cli(safetensors_model, cli):
    path, params = safetensors_model
    [est] = weightguard.estimate(path, tokens="2T")
    assert [est] == cli.json_lines("estimate", str(path), "--tokens", "2T")
    assert est["parameters"]["total"] == params
    assert est["training_operations"]["estimate"] == pytest.approx(6 * params * 2e12)
    # A number is the same count as its text.
    assert weightguard.estimate(path, tokens=2e12) == [est]
    assert weightguard.estimate(path, tokens=2_000_000_000_000) == [est]


def test_classify_with_a_record_matches_the_cli(safetensors_model, controlled_record, cli):
    path, _ = safetensors_model
    c = weightguard.classify(path, record=controlled_record, as_of=AS_OF)
    assert c == cli.json(
        "classify", str(path), "--training-record", str(controlled_record), "--as-of", AS_OF
    )
    assert c["schema_version"] == 1
    assert c["decision"] == "controlled"
    assert c["eccn"] == "4E091"
    assert c["training_operations"]["estimate"] == pytest.approx(2e26)
    assert c["reasons"] and all(r["citation"] for r in c["reasons"])
    # training_record= is the flag's own name; a datetime.date is the same date.
    same = weightguard.classify(
        path, training_record=str(controlled_record), as_of=datetime.date(2026, 7, 23)
    )
    assert same == c
    with pytest.raises(UsageError):
        weightguard.classify(path, record=controlled_record, training_record=controlled_record)


def test_classify_without_facts_needs_review_as_the_cli_says(safetensors_model, cli):
    path, _ = safetensors_model
    c = weightguard.classify(path, as_of=AS_OF)
    done = cli.run("classify", str(path), "--as-of", AS_OF, "--json")
    assert c == json.loads(done.stdout)
    # The exit status tells the same decision.
    assert done.returncode == (5 if c["decision"] == "needs_review" else 0)


@pytest.mark.parametrize(
    "destination, holder_hq, decision, authorization, rule, exit_status",
    [
        ("CN", None, "denied", None, "destination.d5-macau", 4),
        ("JP", None, "allowed", "AIA", "destination.aia", 0),
        ("BR", None, "license_required", None, "destination.default", 3),
        ("DE", "CN", "license_required", None, "destination.default", 3),
    ],
)
def test_gate_decides_as_the_cli_does(
    safetensors_model,
    controlled_record,
    cli,
    destination,
    holder_hq,
    decision,
    authorization,
    rule,
    exit_status,
):
    path, _ = safetensors_model
    g = weightguard.gate(
        path,
        destination=destination,
        holder_hq=holder_hq,
        record=controlled_record,
        as_of=AS_OF,
    )
    flags = ["--holder-hq", holder_hq] if holder_hq else []
    assert g == cli.json(
        "gate",
        str(path),
        "--destination",
        destination,
        *flags,
        "--training-record",
        str(controlled_record),
        "--as-of",
        AS_OF,
        expect=exit_status,
    )
    assert g["schema_version"] == 1
    assert g["decision"] == decision
    assert g["destination"] == destination
    assert g["authorization"] == authorization
    assert rule_outcome(g, rule) == decision
    assert g["classification"]["decision"] == "controlled"
    assert len(g["models"]) == 1


#: The repository's example of a lab's own policy (threshold 10^25, no licence exception).
ACME_POLICY = Path(__file__).resolve().parents[2] / "policies" / "examples" / "acme-internal.toml"

LICENCES = """\
[[license]]
id = "D1234567"
destinations = ["BR"]
models = ["frontier"]
expires = 2027-02-28
"""


def test_a_policy_file_and_a_licence_decide_as_the_cli_does(
    safetensors_model, controlled_record, tmp_path, cli
):
    path, _ = safetensors_model
    c = weightguard.classify(path, record=controlled_record, policy=str(ACME_POLICY), as_of=AS_OF)
    assert c == cli.json(
        "classify",
        str(path),
        "--training-record",
        str(controlled_record),
        "--policy",
        str(ACME_POLICY),
        "--as-of",
        AS_OF,
    )
    assert c["policy"]["id"] == "acme-internal"
    # A licence for BR turns the default licence requirement into an authorization.
    licences = tmp_path / "licences.toml"
    licences.write_text(LICENCES)
    g = weightguard.gate(
        path, destination="BR", licenses=licences, record=controlled_record, as_of=AS_OF
    )
    assert g == cli.json(
        "gate",
        str(path),
        "--destination",
        "BR",
        "--licenses",
        str(licences),
        "--training-record",
        str(controlled_record),
        "--as-of",
        AS_OF,
    )
    assert (g["decision"], g["authorization"]) == ("allowed", "license:D1234567")


def test_exclude_leaves_a_model_out_as_the_cli_does(tmp_path, controlled_record, cli):
    root = tmp_path / "repo"
    top = write_safetensors(root / "model.safetensors")
    write_gguf(root / "checkpoints" / "step-1000" / "model.gguf")
    # Both models are seen, counted and decided on.
    both = weightguard.inspect(root)
    assert both == cli.json_lines("inspect", str(root))
    assert len(both) == 2
    g = weightguard.gate(root, destination="DE", as_of=AS_OF)
    assert len(g["models"]) == 2
    # --exclude checkpoints: one model, and the set says what it left out.
    [one] = weightguard.inspect(root, exclude=["checkpoints"])
    assert [one] == cli.json_lines("inspect", str(root), "--exclude", "checkpoints")
    assert one["parameters"]["total"] == top
    assert [i["path"] for i in one["ignored"]] == ["checkpoints/"]
    # A single glob may be given as a string.
    assert weightguard.inspect(root, exclude="checkpoints") == [one]
    g = weightguard.gate(
        root, destination="CN", record=controlled_record, as_of=AS_OF, exclude=["checkpoints"]
    )
    assert g == cli.json(
        "gate",
        str(root),
        "--destination",
        "CN",
        "--training-record",
        str(controlled_record),
        "--as-of",
        AS_OF,
        "--exclude",
        "checkpoints",
        expect=4,
    )
    assert len(g["models"]) == 1


class _RunsCode:
    """Pickles as a call of os.system: what a malicious checkpoint carries."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_an_unsafe_pickle_is_reported_not_raised(tmp_path, cli):
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": _RunsCode()}, protocol=2))
    [model] = weightguard.inspect(path)
    # The CLI exits 6 (findings); the function returns the same object, with the findings.
    assert [model] == cli.json_lines("inspect", str(path), expect=6)
    assert model["safe"] is False
    assert any("system" in json.dumps(f) for f in model["security_findings"])


# ---------------------------------------------------------------------------------------------
# Refusals: each raises, with the file and the reason, what the CLI refuses with the same message
# ---------------------------------------------------------------------------------------------


def test_a_malformed_file_raises_with_the_file_and_the_reason(tmp_path, cli):
    path = tmp_path / "broken.safetensors"
    # A header length far beyond the file: no allocation is made from it, nothing is trusted.
    path.write_bytes((10**12).to_bytes(8, "little") + b'{"a":1}')
    for call in (
        lambda: weightguard.inspect(path),
        lambda: weightguard.estimate(path, tokens="1T"),
        lambda: weightguard.classify(path),
        lambda: weightguard.gate(path, destination="DE"),
    ):
        with pytest.raises(WeightguardError) as caught:
            call()
        e = caught.value
        assert e.file == str(path)
        assert "header length" in e.reason and str(path) not in e.reason
        assert str(e) == f"{path}: {e.reason}"
        assert e.hint
    status, message = cli.error("inspect", str(path))
    assert status == 1
    with pytest.raises(WeightguardError) as caught:
        weightguard.inspect(path)
    assert message == str(caught.value)
    with pytest.raises(WeightguardError) as caught:
        weightguard.hash(path)
    assert caught.value.file == str(path)
    assert cli.error("hash", str(path)) == (1, str(caught.value))


def test_a_truncated_gguf_raises_with_the_file_and_the_offset(tmp_path, cli):
    path = tmp_path / "cut.gguf"
    write_gguf(path)
    data = path.read_bytes()
    path.write_bytes(data[:40])  # inside the metadata: the file ends where a value should be
    with pytest.raises(WeightguardError) as caught:
        weightguard.inspect(path)
    e = caught.value
    assert e.file == str(path)
    assert e.reason.startswith("offset ")
    assert cli.error("inspect", str(path)) == (1, str(e))
    with pytest.raises(WeightguardError) as caught:
        weightguard.gate(path, destination="DE")
    assert caught.value.file == str(path)
    assert cli.error("gate", str(path), "--destination", "DE") == (1, str(caught.value))


def test_a_missing_path_raises_naming_it(tmp_path, cli):
    path = tmp_path / "nowhere"
    with pytest.raises(WeightguardError) as caught:
        weightguard.inspect(path)
    assert caught.value.file == str(path)
    assert cli.error("inspect", str(path)) == (1, str(caught.value))


def test_a_file_without_weights_raises(tmp_path, cli):
    path = tmp_path / "notes.txt"
    path.write_text("not weights\n")
    with pytest.raises(WeightguardError) as caught:
        weightguard.inspect(path)
    assert caught.value.file == str(path)
    assert cli.error("inspect", str(path)) == (1, str(caught.value))


def test_a_malformed_training_record_raises_naming_the_record(safetensors_model, tmp_path, cli):
    path, _ = safetensors_model
    record = tmp_path / "bad-record.toml"
    record.write_text("[model]\nname = 3\n")
    with pytest.raises(WeightguardError) as caught:
        weightguard.classify(path, record=record, as_of=AS_OF)
    assert caught.value.file == str(record)
    assert caught.value.hint and "training-record.md" in caught.value.hint
    status, message = cli.error(
        "classify", str(path), "--training-record", str(record), "--as-of", AS_OF
    )
    assert (status, message) == (1, str(caught.value))


def test_an_unknown_policy_raises(safetensors_model, cli):
    path, _ = safetensors_model
    with pytest.raises(WeightguardError) as caught:
        weightguard.classify(path, policy="no-such-policy")
    assert caught.value.file is None
    assert "no-such-policy" in caught.value.reason
    assert cli.error("classify", str(path), "--policy", "no-such-policy") == (
        1,
        str(caught.value),
    )


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"destination": "XX"}, "destination"),
        ({"destination": "DE", "holder_hq": "Germany"}, "holder_hq"),
        ({"destination": "DE", "as_of": "23/07/2026"}, "as_of"),
        ({"destination": "DE", "tokens": "lots"}, "tokens"),
        ({"destination": "DE", "tokens": -5}, "tokens"),
        ({"destination": "DE", "tokens": True}, "tokens"),
    ],
)
def test_bad_argument_values_are_usage_errors(safetensors_model, cli, kwargs, argument):
    path, _ = safetensors_model
    with pytest.raises(UsageError) as caught:
        weightguard.gate(path, **kwargs)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(argument)
    # The CLI refuses the same values as usage errors (exit 2).
    flag = {"as_of": "--as-of", "holder_hq": "--holder-hq", "tokens": "--tokens"}
    args = ["gate", str(path), "--destination", kwargs["destination"]]
    for k, v in kwargs.items():
        if k != "destination":
            args += [flag[k], str(v)]
    if argument != "tokens" or isinstance(kwargs["tokens"], str):
        assert cli.run(*args).returncode == 2


def test_destination_is_required(safetensors_model):
    path, _ = safetensors_model
    with pytest.raises(TypeError):
        weightguard.gate(path)  # type: ignore[call-arg]
