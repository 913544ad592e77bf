"""weightguard: inspect AI model weights, hash them, estimate their training compute, decide
their export control (ECCN 4E091) and gate their transfer to a destination.

Each function runs the command of the same name and returns what its ``--json`` prints, parsed:
the very same objects, with ``schema_version`` (``docs/schema/`` holds their JSON Schemas).
Keyword arguments mirror the command's flags (``--training-record`` is ``training_record=``, or
``record=`` for short; ``--exclude`` is ``exclude=``, a list). Paths may be ``str`` or
``os.PathLike``. The work runs in Rust with the GIL released.

A file that cannot be read or decided on raises :class:`WeightguardError` (with ``file``,
``reason`` and ``hint``); a bad argument value raises :class:`UsageError`, which is also a
``ValueError``. Decisions are results, not exceptions: ``gate(...)["decision"]`` may be
``"denied"``.
"""

import datetime
import json
import os
from typing import Any, Dict, Iterable, List, Optional, Union

from . import _native
from .errors import UsageError, WeightguardError

__all__ = [
    "inspect",
    "hash",
    "estimate",
    "classify",
    "gate",
    "WeightguardError",
    "UsageError",
    "DEFAULT_POLICY",
    "DEFAULT_DISAGREEMENT_FACTOR",
    "SCHEMA_VERSION",
    "__version__",
]

__version__: str = _native.VERSION
#: The policy every function decides by unless ``policy=`` names another.
DEFAULT_POLICY: str = _native.DEFAULT_POLICY
#: The factor between two methods' estimates above which a warning says they disagree.
DEFAULT_DISAGREEMENT_FACTOR: float = _native.DEFAULT_DISAGREEMENT_FACTOR
#: The ``schema_version`` of every object returned.
SCHEMA_VERSION: int = _native.SCHEMA_VERSION

Path = Union[str, "os.PathLike[str]"]
Count = Union[int, float, str]


def _selection(
    exclude: Optional[Iterable[str]],
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Optional[str],
) -> tuple:
    if isinstance(exclude, str):
        # One glob passed as a string: `--exclude GLOB` once, not a glob per character.
        exclude = [exclude]
    return (
        list(exclude or []),
        bool(no_default_excludes),
        bool(follow_external_links),
        revision,
    )


def _record(
    record: Optional[Path], training_record: Optional[Path]
) -> Optional[Path]:
    if record is not None and training_record is not None:
        raise UsageError(
            "record= and training_record= name the same flag (--training-record): pass one"
        )
    return training_record if training_record is not None else record


def _training(
    record: Optional[Path],
    training_record: Optional[Path],
    tokens: Optional[Count],
    accelerators: Optional[Path],
    disagreement_factor: float,
) -> tuple:
    if isinstance(tokens, bool):
        raise UsageError(f"tokens: {tokens!r} is not a count of tokens")
    return (
        _record(record, training_record),
        tokens,
        accelerators,
        float(disagreement_factor),
    )


def _date(as_of: Union[None, str, datetime.date]) -> Optional[str]:
    if isinstance(as_of, datetime.datetime):
        raise UsageError(
            "as_of: a date is wanted (YYYY-MM-DD or datetime.date), not a datetime"
        )
    if isinstance(as_of, datetime.date):
        return as_of.isoformat()
    return as_of


def inspect(
    path: Path,
    *,
    hash: bool = False,
    exclude: Optional[Iterable[str]] = None,
    no_default_excludes: bool = False,
    follow_external_links: bool = False,
    revision: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """``weightguard inspect PATH --json``: one object per model of the path (a weight file, a
    shard index, a model directory or a hub cache repository), from headers alone; with
    ``hash=True`` every byte is read too and ``root`` is the model root digest.

    A model holding a pickle that would run code is reported (``safe`` is false,
    ``security_findings`` says why), not raised.
    """
    lines = _native.inspect(
        path,
        *_selection(exclude, no_default_excludes, follow_external_links, revision),
        bool(hash),
    )
    return [json.loads(line) for line in lines]


def hash(
    path: Path,
    *,
    b3sum: bool = False,
    no_mmap: bool = False,
    exclude: Optional[Iterable[str]] = None,
    no_default_excludes: bool = False,
    follow_external_links: bool = False,
    revision: Optional[str] = None,
) -> Dict[str, Any]:
    """``weightguard hash PATH --json``: BLAKE3 digests per segment and tensor of weight files,
    per file for the rest, and the model root digest (``root``)."""
    line = _native.hash(
        path,
        *_selection(exclude, no_default_excludes, follow_external_links, revision),
        bool(b3sum),
        bool(no_mmap),
    )
    return json.loads(line)


def estimate(
    path: Path,
    *,
    tokens: Optional[Count] = None,
    record: Optional[Path] = None,
    training_record: Optional[Path] = None,
    accelerators: Optional[Path] = None,
    disagreement_factor: float = DEFAULT_DISAGREEMENT_FACTOR,
    policy: str = DEFAULT_POLICY,
    exclude: Optional[Iterable[str]] = None,
    no_default_excludes: bool = False,
    follow_external_links: bool = False,
    revision: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """``weightguard estimate PATH --json``: one object per model: parameters (total, active),
    training operations (low, point, high) and the methods that gave them.

    ``tokens`` is a number or a count as the CLI takes it (``"15.6T"``); ``record`` (or
    ``training_record``) names a training record, else ``training-record.toml`` beside the
    weights is used."""
    lines = _native.estimate(
        path,
        *_selection(exclude, no_default_excludes, follow_external_links, revision),
        *_training(record, training_record, tokens, accelerators, disagreement_factor),
        policy,
    )
    return [json.loads(line) for line in lines]


def classify(
    path: Path,
    *,
    tokens: Optional[Count] = None,
    record: Optional[Path] = None,
    training_record: Optional[Path] = None,
    accelerators: Optional[Path] = None,
    disagreement_factor: float = DEFAULT_DISAGREEMENT_FACTOR,
    policy: str = DEFAULT_POLICY,
    as_of: Union[None, str, datetime.date] = None,
    exclude: Optional[Iterable[str]] = None,
    no_default_excludes: bool = False,
    follow_external_links: bool = False,
    revision: Optional[str] = None,
) -> Dict[str, Any]:
    """``weightguard classify PATH --json``: ``decision`` (controlled, not_controlled, excluded,
    needs_review), ``eccn``, ``policy``, ``training_operations``, ``reasons`` (each with rule,
    outcome, detail, citation) of the deciding model, and ``models`` (each model's own).

    ``as_of`` is a ``datetime.date`` or ``"YYYY-MM-DD"``; default: today (UTC)."""
    line = _native.classify(
        path,
        *_selection(exclude, no_default_excludes, follow_external_links, revision),
        *_training(record, training_record, tokens, accelerators, disagreement_factor),
        policy,
        _date(as_of),
    )
    return json.loads(line)


def gate(
    path: Path,
    *,
    destination: str,
    holder_hq: Optional[str] = None,
    licenses: Optional[Path] = None,
    tokens: Optional[Count] = None,
    record: Optional[Path] = None,
    training_record: Optional[Path] = None,
    accelerators: Optional[Path] = None,
    disagreement_factor: float = DEFAULT_DISAGREEMENT_FACTOR,
    policy: str = DEFAULT_POLICY,
    as_of: Union[None, str, datetime.date] = None,
    exclude: Optional[Iterable[str]] = None,
    no_default_excludes: bool = False,
    follow_external_links: bool = False,
    revision: Optional[str] = None,
) -> Dict[str, Any]:
    """``weightguard gate PATH --destination CC --json``: ``decision`` (allowed,
    license_required, denied, needs_review), ``destination``, ``authorization`` (``"NLR"``,
    ``"AIA"``, ``"license:<id>"`` or ``None``), ``classification`` and ``reasons`` of the
    deciding model, and ``models`` (each model's own).

    ``destination`` and ``holder_hq`` are ISO 3166-1 alpha-2 codes; ``holder_hq`` defaults to
    the destination. ``licenses`` names a licences file (TOML)."""
    line = _native.gate(
        path,
        *_selection(exclude, no_default_excludes, follow_external_links, revision),
        *_training(record, training_record, tokens, accelerators, disagreement_factor),
        policy,
        _date(as_of),
        destination,
        holder_hq,
        licenses,
    )
    return json.loads(line)
