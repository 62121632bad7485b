# SPDX-License-Identifier: MIT
"""An agent whose tool runs a command, traced by spanring: a fake model (no
network, no key), the OpenAI Agents SDK (pip install openai-agents), and
SpanringTracingProcessor in place of the SDK's own processor.

    build/spanringd --exporter console &
    LD_PRELOAD=$PWD/build/libspanring.so PYTHONPATH=tools/python \\
        python3 tools/python/examples/agent_tool.py

One trace: the agent span, the model's generation-less turns, the
function span of run_command, and under it the shell and everything it
runs (process, exec, connect, getaddrinfo spans of the shim).
"""
import subprocess

from agents import (Agent, Model, ModelProvider, ModelResponse, RunConfig, Runner,
                    Usage, function_tool, set_trace_processors)
from openai.types.responses import (ResponseFunctionToolCall, ResponseOutputMessage,
                                    ResponseOutputText)

from spanring.agents import SpanringTracingProcessor


class FakeModel(Model):
    """Asks for run_command once, then answers."""

    def __init__(self):
        self.calls = 0

    async def get_response(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 1:
            out = [ResponseFunctionToolCall(type="function_call", id="fc_1", call_id="call_1",
                                            name="run_command", status="completed",
                                            arguments='{"command": "uname -a; ls /"}')]
        else:
            out = [ResponseOutputMessage(type="message", id="msg_1", role="assistant",
                                         status="completed",
                                         content=[ResponseOutputText(type="output_text",
                                                                     text="done",
                                                                     annotations=[])])]
        return ModelResponse(output=out, response_id=None,
                             usage=Usage(requests=1, input_tokens=10, output_tokens=5,
                                         total_tokens=15))

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError


class FakeProvider(ModelProvider):
    def __init__(self):
        self.model = FakeModel()

    def get_model(self, model_name):
        return self.model


@function_tool
def run_command(command: str) -> str:
    """Runs a shell command and returns its output."""
    return subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True).stdout


def main():
    set_trace_processors([SpanringTracingProcessor()])
    agent = Agent(name="Operator", instructions="Use run_command.", tools=[run_command])
    result = Runner.run_sync(agent, "What system is this?",
                             run_config=RunConfig(model_provider=FakeProvider(),
                                                  workflow_name="agent_tool example"))
    print(result.final_output)


if __name__ == "__main__":
    main()
