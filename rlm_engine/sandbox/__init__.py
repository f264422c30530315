"""The REPL sandbox: model-written code runs in an isolated worker process, never in the host."""

from rlm_engine.sandbox.host import Sandbox
from rlm_engine.sandbox.launch import Isolation
from rlm_engine.sandbox.types import ExecResult, ReplCaps, SandboxHandler, StopSignal

__all__ = ["ExecResult", "Isolation", "ReplCaps", "Sandbox", "SandboxHandler", "StopSignal"]
