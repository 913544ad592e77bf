"""The ``weightguard`` console command of the wheel: the Rust CLI, run in this process."""

import sys

from . import _native


def main() -> None:
    """Runs ``weightguard`` with this process's arguments and exits with its status (0 allowed,
    3 licence required, 4 denied, 5 needs review, 6 findings, 1 error, 2 usage; see
    docs/user-guide.md)."""
    sys.stdout.flush()
    sys.exit(_native.run_cli(sys.argv))


if __name__ == "__main__":
    main()
