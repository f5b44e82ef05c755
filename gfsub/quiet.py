"""A quiet terminal: third-party chatter goes to a log file, gfsub's own output to the user.

TensorFlow and absl log from C++ straight to file descriptor 2 (before any logging level applies), gym prints a
banner when imported, and kaggle-environments prints the environments it failed to load; none of these has a
switch. While a command runs, descriptors 1 and 2 and Python's sys.stdout / sys.stderr point at
`$GFSUB_CACHE/logs/last-command.log`; gfsub's consoles write to the terminal's original streams. `--verbose`
leaves everything as it is. Agents' own output is unaffected: each match captures it per step.
"""

import os
import sys
from contextlib import contextmanager

from common.cache import log_path
from common.files import cache_folder


def _terminal_stream(stream):
    """A stream that still reaches the user once descriptors 1/2 are redirected (a test's capture is kept as is)."""
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return stream, None
    if descriptor not in (1, 2):
        return stream, None
    stream.flush()
    duplicate = os.fdopen(os.dup(descriptor), "w", buffering=1, encoding=getattr(stream, "encoding", None) or "utf-8")
    return duplicate, duplicate


@contextmanager
def third_party_to_log(consoles: list, verbose: bool = False):
    """Send everything but `consoles` (rich Consoles) to the log while the block runs."""
    if verbose:
        yield
        return
    cache_folder("logs")  # a $GFSUB_CACHE that is not a folder is one line, before anything is redirected
    path = log_path()
    saved_out, saved_err = sys.stdout, sys.stderr
    user_out, own_out = _terminal_stream(saved_out)
    user_err, own_err = _terminal_stream(saved_err)
    previous_files = [console._file for console in consoles]  # None: follow sys.stdout / sys.stderr
    for console in consoles:
        console.file = user_err if console.stderr else user_out
    saved_fds = (os.dup(1), os.dup(2))
    with open(path, "w", buffering=1) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        try:
            yield
        finally:
            log.flush()
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            for descriptor in saved_fds:
                os.close(descriptor)
            sys.stdout, sys.stderr = saved_out, saved_err
            for console, file in zip(consoles, previous_files, strict=True):
                console._file = file
            for stream in (own_out, own_err):
                if stream is not None:
                    stream.close()
