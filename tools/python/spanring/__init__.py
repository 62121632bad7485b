# SPDX-License-Identifier: MIT
"""spanring for Python: record spans into the process's spanring ring.

The C API of libspanring.so (shim/spanring.h) through ctypes, standard
library only. ``spanring.agents.SpanringTracingProcessor`` is the tracing
processor for the OpenAI Agents SDK (and CAI's fork of it).

``load()`` finds the library: the copy already preloaded into the process
(LD_PRELOAD), else ``$SPANRING_LIBRARY`` (only that path when set), else the
build directory of a source tree this package sits in, else the system's
``libspanring.so``. When none can be loaded it says so once (logger
``spanring``) and returns None.
"""
from ._lib import Library, load

__all__ = ["Library", "load"]
__version__ = "0.1.0"
