"""The sandboxed side: loads the student's module and serves calls from the trusted proxy.

Runs inside bubblewrap with only the standard library, numpy (and torch for assignments that
allow it) and this package visible. Everything it sends is plain data (grader.sandbox.wire);
any other object stays here in a handle table and is named by an integer id. Array arguments
of a call arrive in the trusted side's shared arena (grader.sandbox.arena), which the trusted
side reads back itself: nothing here reports what a call changed, or which warnings it raised.

Start: ``python -I -m grader.sandbox.worker <in_fd> <out_fd> <json options>`` (options name
the arena's fd as ``arena_fd``).
"""

from __future__ import annotations

import importlib
import json
import operator
import os
import sys
import traceback
from typing import Any

from grader.sandbox import seccomp, wire
from grader.sandbox.arena import WorkerArrays

# Operators the trusted side may apply to handles (names of functions in `operator`, plus a
# few builtins). Nothing else can be named, so a message cannot reach arbitrary code.
OPERATORS = {
    name: getattr(operator, name)
    for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "neg",
                 "pos", "abs", "lt", "le", "gt", "ge", "getitem", "invert", "and_", "or_", "xor")
} | {"float": float, "int": int, "bool": bool, "len": len, "str": str}


class Worker:
    def __init__(self, in_fd: int, out_fd: int, arena_fd: int) -> None:
        self.in_fd, self.out_fd = in_fd, out_fd
        self.arena = WorkerArrays(arena_fd)
        self.handles: dict[int, Any] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> handle id, so one object keeps one handle
        self.next_id = 1
        self.module: Any = None

    # -- encoding -------------------------------------------------------------------------
    def _to_handle(self, obj: Any) -> dict:
        hid = self.ids.get(id(obj))
        if hid is None or self.handles.get(hid) is not obj:
            hid = self.next_id
            self.next_id += 1
            self.handles[hid] = obj
            self.ids[id(obj)] = hid
        return {"$h": hid, "type": type(obj).__name__, "callable": callable(obj)}

    def encode(self, obj: Any) -> bytes:
        return wire.encode(obj, self._to_handle)

    def _resolve(self, ref: wire.Ref) -> Any:
        if ref.kind == "$h":
            try:
                return self.handles[ref.id]
            except KeyError:
                raise wire.WireError(f"unknown handle {ref.id}") from None
        return self._callback_stub(ref.id)

    def decode(self, frame: bytes) -> Any:
        return wire.decode(frame, self._resolve, on_shared=self.arena.array)

    def send(self, msg: dict) -> None:
        wire.write_frame(self.out_fd, self.encode(msg))

    # -- call-backs to the trusted side ----------------------------------------------------
    def _callback_stub(self, cb_id: int) -> Any:
        def callback(*args: Any, **kwargs: Any) -> Any:
            self.send({"op": "callback", "id": cb_id, "args": list(args), "kwargs": kwargs})
            reply = self.decode(wire.read_frame(self.in_fd))
            if reply.get("op") == "callback_error":
                raise RuntimeError(f"the grader's function raised: {reply['message']}")
            return reply["value"]

        callback.__name__ = f"objective_{cb_id}"
        return callback

    # -- requests -------------------------------------------------------------------------
    def serve(self) -> None:
        # Output goes to a pipe and the worker may be killed: line by line, nothing is lost.
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(line_buffering=True)
        # Up and isolated, no student code run yet: a worker that dies before this frame is a
        # failure of the grader's environment, never the student's (grader.sandbox.workers).
        self.send({"op": "ready"})
        while True:
            try:
                frame = wire.read_frame(self.in_fd)
            except wire.FrameEOF:
                return
            try:
                reply = self.encode(self.handle(self.decode(frame)))
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                reply = self.encode(self._error(exc))
            self.arena.release()  # before the reply: the trusted side reuses the arena
            wire.write_frame(self.out_fd, reply)

    def _error(self, exc: BaseException) -> dict:
        tb = traceback.extract_tb(exc.__traceback__)
        # The grader's own frames and the import machinery are noise to a student.
        hidden = (os.path.dirname(__file__), os.path.dirname(importlib.__file__), "<frozen")
        student = [f for f in tb if not f.filename.startswith(hidden)]
        cwd = os.getcwd()
        for frame in student:  # "backprop.py", not the sandbox's staging path
            if frame.filename.startswith(cwd + os.sep):
                frame.filename = os.path.relpath(frame.filename, cwd)
        lines = traceback.format_list(student[-6:]) if student else []
        if isinstance(exc, SyntaxError) and exc.text:
            lines.append(f"  line {exc.lineno}: {exc.text.rstrip()}\n")
        return {"op": "error", "type": type(exc).__name__, "message": str(exc)[:2000],
                "traceback": "".join(lines)[-4000:]}

    def handle(self, msg: dict) -> dict:
        for hid in msg.get("release", ()):
            self.handles.pop(hid, None)
        op = msg["op"]
        if op == "load":
            return self.load(msg["module"], msg["path"])
        if op == "getattr":
            obj = self.module if msg["obj"] is None else msg["obj"]
            return {"op": "result", "value": getattr(obj, msg["name"])}
        if op == "hasattr":
            return {"op": "result", "value": hasattr(self.module, msg["name"])}
        if op == "setattr":
            setattr(msg["obj"], msg["name"], msg["value"])
            return {"op": "result", "value": None}
        if op == "call":
            return self.call(msg["fn"], msg["args"], msg["kwargs"], inout=msg.get("inout", ()))
        if op == "operator":
            fn = OPERATORS[msg["name"]]
            return {"op": "result", "value": fn(*msg["args"])}
        if op == "worker_call":
            mod_name, _, fn_name = msg["target"].partition(":")
            if not mod_name.startswith("grader.worker_tasks."):
                raise ValueError("worker_call may only run grader.worker_tasks functions")
            fn = getattr(importlib.import_module(mod_name), fn_name)
            return self.call(fn, msg["args"], msg["kwargs"], lead=(self.module,),
                             inout=msg.get("inout", ()))
        raise ValueError(f"unknown request {op!r}")

    def load(self, module: str, path: str) -> dict:
        sys.path.insert(0, path)
        os.chdir(path)
        self.module = importlib.import_module(module)
        names = [n for n in dir(self.module) if not n.startswith("__")]
        return {"op": "result", "value": names}

    def call(self, fn: Any, args: list, kwargs: dict, lead: tuple = (),
             inout: Any = ()) -> dict:
        """Call ``fn(*lead, *args, **kwargs)``. The arguments named in ``inout`` (declared in/out
        dicts, Generators) come back by value: like the return value, they are the call's
        output. Array arguments are never reported: the trusted side reads them itself."""
        value = fn(*lead, *args, **kwargs)
        out = {}
        for key in inout if isinstance(inout, list) else ():
            if isinstance(key, str) and key.isdigit() and int(key) < len(args):
                out[key] = args[int(key)]
            elif isinstance(key, str) and key in kwargs:
                out[key] = kwargs[key]
        return {"op": "result", "value": value, "inout": out}


def restrict_imports(blocked: list[str]) -> None:
    """Refuse imports of blocked top-level packages (bwrap also hides them; this is the only
    barrier in --insecure mode and the one that still holds for a zygote's preloads)."""
    if not blocked:
        return

    class Blocker:
        @staticmethod
        def find_spec(name: str, path: Any = None, target: Any = None) -> None:
            if name.split(".")[0] in blocked:
                raise ImportError(f"{name} is not available in this assignment")

    sys.meta_path.insert(0, Blocker())


def main() -> None:
    in_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
    options = json.loads(sys.argv[3])
    if "uid" in options:  # a cold sandboxed worker: it starts as root of its sandbox
        from grader.sandbox.bwrap import Limits
        from grader.sandbox.isolation import isolate_worker

        isolate_worker(options["uid"], Limits(**options["limits"]))
    restrict_imports(options.get("block_imports", []))
    seccomp.install()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    Worker(in_fd, out_fd, options["arena_fd"]).serve()


if __name__ == "__main__":
    main()
