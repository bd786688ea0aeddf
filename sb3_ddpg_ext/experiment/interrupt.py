"""
What stops a run from outside: Ctrl-C (SIGINT, Python's ``KeyboardInterrupt``) and SIGTERM (what a cluster scheduler
sends before it preempts a job), which :func:`sigterm_as_interrupt` turns into the same exception while a run trains.
Only what ``import signal`` needs, so that ``sb3-ddpg`` catches it without importing the experiment layer.
"""

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class RunInterrupted(KeyboardInterrupt):
    """
    A run stopped by Ctrl-C or SIGTERM. It is a ``KeyboardInterrupt``, so that code which lets Ctrl-C through lets it
    through too; the run raises it after it saved what it had, and its message says what and where.

    :param message: What happened and what was saved, one line
    :param signal_number: ``signal.SIGINT`` or ``signal.SIGTERM``
    """

    def __init__(self, message: str, signal_number: int = signal.SIGINT):
        super().__init__(message, signal_number)  # both in args: it pickles (a benchmark worker process raises it)
        self.message = message
        self.signal_number = signal_number

    def __str__(self) -> str:
        return self.message

    @property
    def exit_status(self) -> int:
        """The shell's status of a process the signal ended: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signal_number


def _raise_interrupted(signal_number: int, frame: FrameType | None) -> None:
    raise RunInterrupted(f"interrupted by {signal.Signals(signal_number).name}", signal_number)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """
    Within the block, SIGTERM raises :class:`RunInterrupted` (as Ctrl-C raises ``KeyboardInterrupt``) instead of ending
    the process; the previous handler is put back after it. Python handles signals in the main thread only, so in any
    other thread (Optuna's ``n_jobs``) the block changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
