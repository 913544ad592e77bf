# The extension module (python/src/lib.rs). Called by weightguard/__init__.py, which gives the
# documented API; each function returns the CLI's `--json` line(s) of its command.
import os
from typing import List, Optional, Sequence, Union

_Path = Union[str, os.PathLike[str]]
_Count = Union[int, float, str]

VERSION: str
DEFAULT_POLICY: str
DEFAULT_DISAGREEMENT_FACTOR: float
SCHEMA_VERSION: int

def inspect(
    path: _Path,
    exclude: Sequence[str],
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Optional[str],
    hash: bool,
) -> List[str]: ...
def hash(
    path: _Path,
    exclude: Sequence[str],
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Optional[str],
    b3sum: bool,
    no_mmap: bool,
) -> str: ...
def estimate(
    path: _Path,
    exclude: Sequence[str],
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Optional[str],
    training_record: Optional[_Path],
    tokens: Optional[_Count],
    accelerators: Optional[_Path],
    disagreement_factor: float,
    policy: str,
) -> List[str]: ...
def classify(
    path: _Path,
    exclude: Sequence[str],
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Optional[str],
    training_record: Optional[_Path],
    tokens: Optional[_Count],
    accelerators: Optional[_Path],
    disagreement_factor: float,
    policy: str,
    as_of: Optional[str],
) -> str: ...
def gate(
    path: _Path,
    exclude: Sequence[str],
    no_default_excludes: bool,
    follow_external_links: bool,
    revision: Optional[str],
    training_record: Optional[_Path],
    tokens: Optional[_Count],
    accelerators: Optional[_Path],
    disagreement_factor: float,
    policy: str,
    as_of: Optional[str],
    destination: str,
    holder_hq: Optional[str],
    licenses: Optional[_Path],
) -> str: ...
def run_cli(argv: Sequence[str]) -> int: ...
