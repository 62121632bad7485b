# SPDX-License-Identifier: MIT
"""trace() and the *_span() helpers of the SDK."""
from .setup import GLOBAL_TRACE_PROVIDER
from .span_data import AgentSpanData, CustomSpanData, FunctionSpanData, GenerationSpanData


def trace(workflow_name, trace_id=None, group_id=None, metadata=None, disabled=False):
    return GLOBAL_TRACE_PROVIDER.create_trace(workflow_name, trace_id, group_id, metadata,
                                              disabled)


def get_current_trace():
    return GLOBAL_TRACE_PROVIDER.get_current_trace()


def get_current_span():
    return GLOBAL_TRACE_PROVIDER.get_current_span()


def agent_span(name, handoffs=None, tools=None, output_type=None, span_id=None,
               parent=None, disabled=False):
    return GLOBAL_TRACE_PROVIDER.create_span(
        AgentSpanData(name, handoffs, tools, output_type), span_id, parent, disabled)


def function_span(name, input=None, output=None, span_id=None, parent=None, disabled=False):
    return GLOBAL_TRACE_PROVIDER.create_span(FunctionSpanData(name, input, output),
                                             span_id, parent, disabled)


def generation_span(input=None, output=None, model=None, model_config=None, usage=None,
                    span_id=None, parent=None, disabled=False):
    return GLOBAL_TRACE_PROVIDER.create_span(
        GenerationSpanData(input, output, model, model_config, usage), span_id, parent,
        disabled)


def custom_span(name, data=None, span_id=None, parent=None, disabled=False):
    return GLOBAL_TRACE_PROVIDER.create_span(CustomSpanData(name, data), span_id, parent,
                                             disabled)
