"""``python -m autograd_cnn ...``: see autograd_cnn/cli.py."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
