"""Ctrl-C while the command (``python -m autograd_cnn ...`` or ``autograd-cnn ...``) is still
importing this package: one line and exit status 130, as a Ctrl-C at any later point of the
command gives (autograd_cnn/cli.py), instead of Python's traceback from the middle of an import.

It applies only when this process was started as the command (while ``python -m`` imports the
package, ``sys.argv[0]`` is ``'-m'``) and SIGINT still has Python's default handler; a program
that imports the package is never affected.
"""
import os
import signal
import sys

MESSAGE = "autograd_cnn: interrupted\n"
EXIT_STATUS = 130  # 128 + SIGINT, what shells report for a command ended by Ctrl-C


def _started_as_command():
    first = sys.argv[0] if sys.argv else ""
    if os.path.basename(first) == "autograd-cnn":
        return True
    if first != "-m":
        return False
    orig = getattr(sys, "orig_argv", None)  # Python 3.10+: the interpreter's own arguments
    if orig is None:
        return True
    return any(a == "-m" and b.split(".")[0] == "autograd_cnn" for a, b in zip(orig, orig[1:]))


def _quiet_exit(signum, frame):
    sys.stderr.write(MESSAGE)
    raise SystemExit(EXIT_STATUS)


def quiet_while_importing():
    """Install the quiet handler if this process is the command; returns the function that puts
    Python's default handler back (call it once the package is imported)."""
    if not _started_as_command() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return lambda: None
    try:
        signal.signal(signal.SIGINT, _quiet_exit)
    except ValueError:  # not the main thread: leave signals alone
        return lambda: None
    return lambda: signal.signal(signal.SIGINT, signal.default_int_handler)
