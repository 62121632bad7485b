# SPDX-License-Identifier: MIT
"""span_data types and their export(), as the SDK writes them."""


class SpanData:
    type = ""

    def export(self):
        raise NotImplementedError


class AgentSpanData(SpanData):
    type = "agent"

    def __init__(self, name, handoffs=None, tools=None, output_type=None):
        self.name, self.handoffs, self.tools, self.output_type = name, handoffs, tools, output_type

    def export(self):
        return {"type": self.type, "name": self.name, "handoffs": self.handoffs,
                "tools": self.tools, "output_type": self.output_type}


class FunctionSpanData(SpanData):
    type = "function"

    def __init__(self, name, input=None, output=None, mcp_data=None):
        self.name, self.input, self.output, self.mcp_data = name, input, output, mcp_data

    def export(self):
        return {"type": self.type, "name": self.name, "input": self.input,
                "output": str(self.output) if self.output else None,
                "mcp_data": self.mcp_data}


class GenerationSpanData(SpanData):
    type = "generation"

    def __init__(self, input=None, output=None, model=None, model_config=None, usage=None):
        self.input, self.output, self.model = input, output, model
        self.model_config, self.usage = model_config, usage

    def export(self):
        return {"type": self.type, "input": self.input, "output": self.output,
                "model": self.model, "model_config": self.model_config, "usage": self.usage}


class CustomSpanData(SpanData):
    type = "custom"

    def __init__(self, name, data=None):
        self.name, self.data = name, data if data is not None else {}

    def export(self):
        return {"type": self.type, "name": self.name, "data": self.data}
