# SPDX-License-Identifier: MIT
"""A stand-in of the OpenAI Agents SDK's tracing interface (package
`agents`, module layout and behaviour of openai-agents' agents.tracing), for
tests where the SDK itself cannot be installed. Only tracing is here."""
from .tracing import (add_trace_processor, set_trace_processors,  # noqa: F401
                      set_tracing_disabled)
