"""The ``kqa`` command: the assistant's command line (``assistant/cli.py``) and ``kqa eval`` (``python -m eval``).

The evaluation sits above the library (it imports the assistant, never the other way round), so its subcommand
is wired here, at the entry point, not inside ``assistant/``.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``kqa``; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["eval"]:
        from eval.__main__ import main as eval_main

        return eval_main(args[1:])
    from assistant.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
