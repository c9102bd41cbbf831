"""Tying helper processes to the life of the sahelwatch process that started them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(sig: int = signal.SIGTERM, parent_pid: int | None = None) -> None:
    """Ask Linux to send `sig` to this process when its parent dies, even by `kill -9`.

    Call it in the child (a pool initializer, a Popen preexec_fn), with the parent's pid when
    known: a parent killed while the child was still starting sends no signal, so the child
    then ends itself. Elsewhere than Linux it does nothing: the children then outlive a killed
    parent, as they would anyway.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
