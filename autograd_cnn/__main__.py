"""``python -m autograd_cnn ...``: see autograd_cnn/cli.py."""
import sys

from ._interrupt import EXIT_STATUS, MESSAGE

if __name__ == "__main__":
    try:
        from .cli import main

        sys.exit(main())
    except KeyboardInterrupt:  # outside the command's own handling (cli.main), e.g. in bench
        sys.stderr.write(MESSAGE)
        sys.exit(EXIT_STATUS)
