"""Compiled (numba) loops of the emerging hot spot analysis, with numpy twins.

The loops (:mod:`hotspots.emerging_loops`) run when numba is installed and :data:`USE_NUMBA` is
true; the callers keep numpy versions of the same arithmetic for when they do not, with the same
results bit for bit (the tests run both). They are compiled on first use and cached on disk by
numba, like :mod:`hotspots.kde_compiled`'s.

Loops:

* ``mk_scores`` - Mann-Kendall's ``S``, tie term and non-missing count of each series
  (:func:`hotspots.trend.mann_kendall_many`): one pass over each row's pairs instead of one
  array operation per lag over every series (``O(n T²)`` memory traffic).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from . import kde_compiled

__all__ = ["USE_NUMBA", "CompiledLoops", "compiled_loops"]

#: Use the compiled loops when numba is installed (the environment variable HOTSPOTS_NO_NUMBA=1
#: turns them off, as for the density engine: :data:`hotspots.kde_compiled.USE_NUMBA`).
USE_NUMBA = kde_compiled.USE_NUMBA


class CompiledLoops(NamedTuple):
    """The compiled loops (see the module documentation)."""

    mk_scores: Any


def compiled_loops() -> CompiledLoops | None:
    """The compiled loops, or None when numba is not installed or :data:`USE_NUMBA` is False."""
    if not USE_NUMBA:
        return None
    return _build()


@functools.lru_cache(maxsize=1)
def _build() -> CompiledLoops | None:
    try:
        from . import emerging_loops
    except ImportError:  # pragma: no cover - numba is not installed
        return None
    return CompiledLoops(emerging_loops.mk_scores)
