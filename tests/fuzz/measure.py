"""Run a command, then write its peak resident memory to a file and end as it ended.

`python -m tests.fuzz.measure PEAK_FILE COMMAND...`. A process's ru_maxrss survives fork and exec: a command
started by a big process (a pytest worker holding TensorFlow) reports that process's size as its own peak. This
small process is started by the big one, and starts the command itself, so the command's peak (and its waited-for
children's) is its own. PEAK_FILE gets the megabytes; the exit status is the command's (a signal, re-raised).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path


def main() -> None:
    peak_file, command = Path(sys.argv[1]), sys.argv[2:]
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = 0  # reaped here
    peak_file.write_text(f"{usage.ru_maxrss / 1024:.1f}\n")
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
