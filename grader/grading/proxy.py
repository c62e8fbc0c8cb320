"""The trusted side of the worker connection: a proxy of the student's module.

``StudentModule`` is what hidden tests receive as the ``student`` fixture. Each attribute
access, call and operator becomes one request to the sandboxed worker (grader.sandbox.worker); only
plain data comes back (grader.sandbox.wire), anything else as a ``Handle``. A worker that hangs past
the call time limit, dies or breaks the protocol is killed and restarted for the next request;
handles from before a restart are dead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from grader.sandbox import cpu_meter, wire
from grader.sandbox.arena import Arena, ArenaFull, SharedCall
from grader.sandbox.bwrap import SandboxSpec
from grader.sandbox.output_capture import OutputCapture
from grader.sandbox.workers import Worker, start_worker
from grader.sandbox.zygote import Zygote

# Limits on what a worker may send; it shares its process with student code, so every reply
# is hostile input. Replies are far smaller (logits of 10k images are 400 KB).
MAX_REPLY = 256 << 20
MAX_REPLY_STRING = 10_000     # chars of any one string; longer ones arrive truncated
# What parsing one reply's JSON header may build in this process (wire.parsed_bytes, an upper
# estimate from its punctuation; arrays travel as raw buffers, outside it). Without it, 21 million
# empty lists took 3.4 GB and 4 minutes to grade. An honest reply holds names, handles, a dict
# of a few numbers: kilobytes; a list of a million floats fits.
MAX_REPLY_PARSED = 96 << 20
MAX_NAMES = 10_000            # names a module may report
# Call-backs one call may make (random_search calls its objective n_trials times).
MAX_CALLBACKS_PER_CALL = 10_000
# Bytes of call-back frames (the arguments student code passes to the grader's functions) one
# submission may send in all. The trusted side keeps what its functions record, so this bounds
# that too; an honest a5 submission sends under 1 MiB (a dict of a few numbers per trial).
MAX_CALLBACK_BYTES = 16 << 20


class StudentError(Exception):
    """The student's code raised, hung, crashed or returned something unusable."""

    def __init__(self, what: str, message: str, traceback: str = "") -> None:
        super().__init__(f"{what}: {message}")
        self.what, self.message, self.traceback = what, message, traceback

    def student_message(self) -> str:
        text = f"{self.what}: {self.message}"
        if self.traceback:
            text += "\n" + self.traceback.rstrip()
        return text


class StudentTimeout(StudentError):
    pass


class WorkerCrashed(StudentError):
    pass


class LoadError(StudentError):
    """The module could not be imported (syntax error, missing file, error at import)."""


class BudgetExhausted(StudentError):
    pass


class ArgumentsTooLarge(StudentError):
    """A call's arrays do not fit in the shared arena: a grader limit, said as such."""


@dataclass(frozen=True)
class Mutation:
    """An argument the student's code changed in place that the contract does not let it change.

    ``arg`` is the argument's position (int) or keyword; ``value`` is what the student left in
    it: a copy of the argument with each array the trusted side found changed in the shared
    arena replaced by the arena's bytes. The hidden test's own object is NOT changed: a
    dedicated test reads these records.
    """

    arg: int | str
    value: Any


@dataclass
class CpuTime:
    """The worker's CPU time during a ``measure_cpu`` block, as the kernel accounts it
    (grader.sandbox.cpu_meter); filled in when the block ends."""

    seconds: float
    source: str


class Session:
    """One submission's worker: start, requests with time limits, restarts. ``pool`` is the
    slot's warm zygote, if any (grader.sandbox.workers.start_worker decides how to start)."""

    def __init__(self, spec: SandboxSpec, module: str, pool: Zygote | None = None) -> None:
        self.spec, self.module = spec, module
        self.pool = pool
        self.output = OutputCapture()
        self.deadline = time.monotonic() + spec.limits.submission_timeout_s
        self.proc: Worker | None = None
        self.arena: Arena | None = None  # the worker's call arguments (grader.sandbox.arena)
        self.generation = 0
        self.names: list[str] = []
        self.callbacks: dict[int, Callable] = {}  # only those of the calls in progress
        self.next_callback = 1
        self.callback_bytes = 0  # frames of call-backs received, against MAX_CALLBACK_BYTES
        self.pending_release: list[int] = []
        self.live: dict[int, int] = {}  # handle id -> Handle objects alive on this side
        self.last_mutations: list[Mutation] = []  # undeclared in-place changes of the last call
        self.inout: dict[str, dict[str, int]] = {}  # function -> in/out parameter -> position
        self.restarts = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start a worker and import the student's module; raises LoadError (the student's)
        or SandboxFault (the grader's: the worker could not start)."""
        if time.monotonic() >= self.deadline:
            raise BudgetExhausted("submission", "the time budget for this submission "
                                  f"({self.spec.limits.submission_timeout_s:.0f} s) is used up")
        self.arena = Arena()  # a fresh one per worker: nothing of an earlier worker maps it
        try:
            self.proc = start_worker(self.spec, self.output.write_fd, self.arena.fd, self.pool)
        except BaseException:
            self.close()
            raise
        self.generation += 1
        self.pending_release.clear()
        self.live.clear()
        try:
            names = self._request({"op": "load", "module": self.module,
                                   "path": self.proc.submission_path},
                                  f"importing {self.module}.py")
            if not isinstance(names, list):
                self._crash(f"importing {self.module}.py", "the worker broke the protocol")
        except StudentError as exc:
            self.close()
            raise LoadError(exc.what, exc.message, exc.traceback) from None
        self.names = [n for n in names[:MAX_NAMES] if isinstance(n, str)]

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc = None
        if self.arena is not None:
            self.arena.close()
            self.arena = None

    def _ensure(self) -> None:
        if self.proc is None:
            self.restarts += 1
            self.start()

    @contextmanager
    def measure_cpu(self) -> Iterator[CpuTime]:
        """CPU time the worker spends on the requests made inside the block, read by this
        process from the kernel before and after (never asked of the worker)."""
        self._ensure()
        assert self.proc is not None
        source = cpu_meter.for_worker(self.spec.cgroup_procs, self.proc.tree_pid)
        record = CpuTime(0.0, source.name)
        before = source.read()
        yield record
        record.seconds = (cpu_meter.settled(source.read) - before) / 1e9

    def output_tail(self) -> str:
        """What the student's code printed (head and tail, bounded); closes the session."""
        self.close()
        self.output.close()
        return self.output.text()

    # -- encoding -----------------------------------------------------------------------------
    def _fallback(self, obj: Any) -> dict:
        if isinstance(obj, Handle):
            if obj._gen != self.generation:
                raise WorkerCrashed(obj._label, "this object belonged to a worker that was "
                                    "restarted after an earlier failure")
            return {"$h": obj._id}
        if callable(obj):
            cb_id = self.next_callback
            self.next_callback += 1
            self.callbacks[cb_id] = obj
            return {"$cb": cb_id}
        raise wire.WireError(f"a {type(obj).__name__} cannot be sent to the student's code")

    def _on_ref(self, ref: wire.Ref) -> Any:
        if ref.kind != "$h":
            raise wire.WireError("the worker sent a call-back reference")
        return Handle(self, ref.id, ref.type, ref.callable, ref.type)

    # -- requests -----------------------------------------------------------------------------
    def _request(self, msg: dict, what: str) -> Any:
        """Send one request, serve call-backs, return the reply's value or raise."""
        reply = self._exchange(msg, what)
        return reply["value"]

    def _exchange(self, msg: dict, what: str) -> dict:
        """One request and its reply. The functions this request passes to the student's code
        are released when it ends: the test that passed them holds its own references."""
        first_callback = self.next_callback
        try:
            return self._exchange_once(msg, what)
        finally:
            for cb_id in range(first_callback, self.next_callback):
                self.callbacks.pop(cb_id, None)

    def _exchange_once(self, msg: dict, what: str) -> dict:
        assert self.proc is not None
        if self.pending_release:
            msg = {**msg, "release": self.pending_release}
            self.pending_release = []
        deadline = min(time.monotonic() + self.spec.limits.call_timeout_s, self.deadline)
        self._send(wire.encode(msg, self._fallback), what, deadline)
        callbacks = 0
        while True:
            reply, size = self._receive(deadline, what)
            if reply["op"] == "callback":
                callbacks += 1
                if callbacks > MAX_CALLBACKS_PER_CALL:
                    self.close()
                    raise StudentError(what, "called the grader's function more than "
                                       f"{MAX_CALLBACKS_PER_CALL} times in one call "
                                       "(an endless loop?)")
                self.callback_bytes += size
                if self.callback_bytes > MAX_CALLBACK_BYTES:
                    self.close()
                    raise StudentError(what, "passed more than "
                                       f"{MAX_CALLBACK_BYTES >> 20} MiB of arguments to the "
                                       "grader's functions in this submission (the last call "
                                       f"alone {size / (1 << 20):.1f} MiB); pass them only "
                                       "what they ask for, such as a dict of a few numbers")
                self._serve_callback(reply, what, deadline)
                continue
            if reply["op"] == "error":
                kind, message, traceback = (_text(reply.get(key, "")) for key in
                                            ("type", "message", "traceback"))
                raise StudentError(what, f"raised {kind}: {message}", traceback)
            if reply["op"] != "result" or "value" not in reply \
                    or not isinstance(reply.get("inout", {}), dict):
                self._crash(what, "the worker broke the protocol")
            return reply

    def _send(self, payload: bytes, what: str, deadline: float) -> None:
        try:
            wire.write_frame(self.proc.to_worker, payload, deadline)
        except wire.FrameTimeout:
            self._timed_out(what)
        except OSError:
            self._crash(what, "the worker process died")

    def _receive(self, deadline: float, what: str) -> tuple[dict, int]:
        """The worker's next message and the size of its frame in bytes."""
        proc = self.proc
        try:
            frame = wire.read_frame(proc.from_worker, deadline, MAX_REPLY)
        except wire.FrameTimeout:
            self._timed_out(what)
        except (wire.FrameEOF, OSError):
            proc.wait_exit(timeout=5)
            self._crash(what, f"the worker process died ({proc.exit_description()}; "
                        "out of memory, os._exit or a crash?)")
        except wire.WireError as exc:
            self._crash(what, f"sent an invalid reply ({exc})")
        try:
            reply = wire.decode(frame, self._on_ref, MAX_REPLY_STRING,
                                max_parsed=MAX_REPLY_PARSED)
            if not isinstance(reply, dict) or not isinstance(reply.get("op"), str):
                raise wire.WireError("reply is not a message")
        except wire.WireError as exc:
            self._crash(what, f"sent data the grader refuses ({exc})")
        return reply, len(frame)

    def _timed_out(self, what: str) -> NoReturn:
        """The worker did not answer, or stopped reading, before the call's deadline."""
        self.close()
        if time.monotonic() >= self.deadline:
            raise BudgetExhausted(what, "the time budget for this submission "
                                  f"({self.spec.limits.submission_timeout_s:.0f} s) ran "
                                  "out during this call") from None
        raise StudentTimeout(what, f"did not return within "
                             f"{self.spec.limits.call_timeout_s:.0f} s "
                             "(an infinite loop, or far too slow)") from None

    def _crash(self, what: str, message: str) -> NoReturn:
        self.close()
        raise WorkerCrashed(what, message)

    def _serve_callback(self, msg: dict, what: str, deadline: float) -> None:
        cb_id = msg.get("id")
        fn = self.callbacks.get(cb_id)
        args, kwargs = msg.get("args", []), msg.get("kwargs", {})
        if fn is None and type(cb_id) is int and 0 < cb_id < self.next_callback:
            self._crash(what, "called a function the grader passed in an earlier call; it "
                        "is valid only during the call it was passed to")
        if fn is None or not isinstance(args, list) or not isinstance(kwargs, dict):
            self._crash(what, "the worker sent a call-back the grader never offered")
        try:
            value = fn(*args, **kwargs)
            payload = wire.encode({"op": "callback_result", "value": value})
        except Exception as exc:  # the test's own function failed: tell the worker
            payload = wire.encode({"op": "callback_error", "message": f"{type(exc).__name__}: "
                                   f"{exc}"})
        self._send(payload, what, deadline)

    # -- operations used by StudentModule and Handle --------------------------------------------
    def getattr(self, obj: Handle | None, name: str, what: str) -> Any:
        self._ensure()
        return self._request({"op": "getattr", "obj": obj, "name": name}, what)

    def setattr(self, obj: Handle, name: str, value: Any, what: str) -> None:
        self._ensure()
        self._request({"op": "setattr", "obj": obj, "name": name, "value": value}, what)

    def call(self, fn: Handle | str, args: tuple, kwargs: dict, what: str) -> Any:
        self._ensure()
        self.last_mutations = []
        try:
            shared = self.arena.share(args, kwargs)
        except ArenaFull as exc:
            raise ArgumentsTooLarge(what, f"the arrays passed to this call need {exc}: more "
                                    "than the grader's shared memory for the arguments of one "
                                    "call (a grader limit, not an error in your code unless "
                                    "these arrays came from it, e.g. a cache you returned)"
                                    ) from None
        declared = self.inout.get(what, {})
        # Declared in/out dicts and lists, and Generators, come back by value: they are output.
        # (A declared array is read back from the arena.)
        inout = [str(i) for i, a in enumerate(args) if _reported(a, i in declared.values())]
        inout += [k for k, a in kwargs.items() if _reported(a, k in declared)]
        if isinstance(fn, str):
            msg = {"op": "worker_call", "target": fn}
        else:
            msg = {"op": "call", "fn": fn}
        msg |= {"args": shared.args, "kwargs": shared.kwargs, "inout": inout}
        reply = self._exchange(msg, what)
        self.last_mutations = self._copy_back(shared, inout, reply.get("inout", {}), args, kwargs,
                                              declared)
        return reply["value"]

    def _copy_back(self, shared: SharedCall, asked: list[str], reported: dict, args: tuple,
                   kwargs: dict, declared: dict[str, int]) -> list[Mutation]:
        """Apply the changes the contract allows; return the others as Mutation records.

        Which arrays changed is read from the arena here, never taken from the worker. A
        declared in/out array is copied back from the arena; a declared dict or a Generator
        from the worker's reply, by value: its new contents are the call's output, like a
        return value (a student who misreports them misreports their own output).
        """
        def original(key: int | str) -> Any:
            return args[key] if isinstance(key, int) else kwargs[key]

        def is_declared(key: int | str) -> bool:
            return key in declared.values() if isinstance(key, int) else key in declared

        changed: dict[int | str, dict[tuple, np.ndarray]] = {}
        for placed in shared.placed:
            if self.arena.changed(placed):
                changed.setdefault(placed.key, {})[placed.path] = self.arena.read(placed)
        for name in asked:  # only what was asked for: other keys in the reply are ignored
            if name in reported:
                _sync(original(int(name) if name.isdigit() else name), reported[name])
        mutations = []
        for key, arrays in changed.items():
            if not is_declared(key):
                mutations.append(Mutation(key, _replaced(original(key), arrays, ())))
            elif () in arrays:  # a declared array: its new bytes, read from the arena
                _sync(original(key), arrays[()])
        return mutations

    def operator(self, name: str, args: tuple, what: str) -> Any:
        self._ensure()
        return self._request({"op": "operator", "name": name, "args": list(args)}, what)

    def retain(self, handle_id: int) -> None:
        self.live[handle_id] = self.live.get(handle_id, 0) + 1

    def release(self, handle_id: int, generation: int) -> None:
        """One Handle object is gone; the worker drops the object when none is left."""
        if generation != self.generation or handle_id not in self.live:
            return
        self.live[handle_id] -= 1
        if self.live[handle_id] == 0:
            del self.live[handle_id]
            self.pending_release.append(handle_id)


def _text(value: Any) -> str:
    """A reply field shown to the student: a string, however the worker sent it, capped."""
    return wire.truncate(value if isinstance(value, str) else repr(value)[:MAX_REPLY_STRING],
                         MAX_REPLY_STRING)


def _sync(original: Any, new: Any) -> None:
    """Copy the worker's in-place changes of an in/out argument back into the test's object."""
    if isinstance(original, np.random.Generator) and isinstance(new, np.random.Generator):
        original.bit_generator.state = new.bit_generator.state  # the draws it made advance it
    elif isinstance(original, np.ndarray) and isinstance(new, np.ndarray):
        if original.shape == new.shape and original.flags.writeable:
            np.copyto(original, new, casting="unsafe")
    elif isinstance(original, dict) and isinstance(new, dict):
        for key in list(original):
            if key not in new:
                del original[key]
        for key, value in new.items():
            if key in original and _syncable(original[key], value):
                _sync(original[key], value)
            else:
                original[key] = value
    elif isinstance(original, list) and isinstance(new, list):
        if len(original) == len(new):
            for i, value in enumerate(new):
                if _syncable(original[i], value):
                    _sync(original[i], value)
                else:
                    original[i] = value
        else:
            original[:] = new
    elif isinstance(original, tuple) and isinstance(new, tuple) and len(original) == len(new):
        for old, value in zip(original, new, strict=True):
            _sync(old, value)


def _reported(arg: Any, declared: bool) -> bool:
    """Whether the worker returns ``arg``'s new value after the call."""
    return isinstance(arg, np.random.Generator) or (declared and isinstance(arg, (dict, list,
                                                                                tuple)))


def _replaced(value: Any, arrays: dict[tuple, np.ndarray], path: tuple) -> Any:
    """A copy of argument ``value`` with the array at each path in ``arrays`` replaced."""
    if path in arrays:
        return arrays[path]
    if type(value) in (list, tuple):
        items = [_replaced(v, arrays, (*path, i)) for i, v in enumerate(value)]
        return items if type(value) is list else tuple(items)
    if type(value) is dict:
        return {k: _replaced(v, arrays, (*path, k)) for k, v in value.items()}
    return value


def _syncable(old: Any, new: Any) -> bool:
    if isinstance(old, np.ndarray):
        return isinstance(new, np.ndarray) and old.shape == new.shape
    return isinstance(old, (dict, list, tuple)) and type(old) is type(new)


class Handle:
    """An object that lives in the worker: call it, read/set attributes, apply operators."""

    __slots__ = ("__weakref__", "_callable", "_gen", "_id", "_label", "_session", "_type")

    def __init__(self, session: Session, hid: int, type_name: str, is_callable: bool,
                 label: str) -> None:
        for key, value in (("_session", session), ("_id", hid), ("_type", type_name),
                           ("_callable", is_callable), ("_label", label),
                           ("_gen", session.generation)):
            object.__setattr__(self, key, value)
        session.retain(hid)

    def __repr__(self) -> str:
        return f"<student {self._type} object>"

    def __del__(self) -> None:
        try:
            self._session.release(self._id, self._gen)
        except Exception:  # interpreter shutdown
            pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = self._session.getattr(self, name, f"{self._label}.{name}")
        if isinstance(value, Handle):
            object.__setattr__(value, "_label", f"{self._label}.{name}")
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.setattr(self, name, value, f"setting {self._label}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self, args, kwargs, self._label)

    def _op(self, name: str, *args: Any) -> Any:
        return self._session.operator(name, args, f"{self._label} ({name})")

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._op("getitem", self, key)
        except StudentError as exc:
            if "raised IndexError" in exc.message:
                raise IndexError(key) from None
            raise

    def __float__(self) -> float:
        return self._op("float", self)

    def __int__(self) -> int:
        return self._op("int", self)

    def __bool__(self) -> bool:
        return self._op("bool", self)

    def __len__(self) -> int:
        return self._op("len", self)


def _binary(name: str) -> tuple[Callable, Callable]:
    def forward(self: Handle, other: Any) -> Any:
        return self._op(name, self, other)

    def reflected(self: Handle, other: Any) -> Any:
        return self._op(name, other, self)

    return forward, reflected


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"):
    _fwd, _ref = _binary(_name)
    setattr(Handle, f"__{_name}__", _fwd)
    setattr(Handle, f"__r{_name}__", _ref)
for _name in ("lt", "le", "gt", "ge"):
    setattr(Handle, f"__{_name}__", _binary(_name)[0])
for _name in ("neg", "pos", "abs"):
    setattr(Handle, f"__{_name}__", lambda self, _n=_name: self._op(_n, self))


class StudentModule:
    """The ``student`` fixture: attribute access and calls go to the sandboxed module."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        session = self._session
        session._ensure()
        if name not in session.names:
            raise StudentError(name, f"{session.module}.py does not define {name!r} "
                               "(check the spelling against the assignment)")
        value = session.getattr(None, name, name)
        if isinstance(value, Handle):
            object.__setattr__(value, "_label", name)
        return value

    def has(self, name: str) -> bool:
        self._session._ensure()
        return name in self._session.names

    def last_mutations(self) -> list[Mutation]:
        """Arguments the last call changed in place without the contract allowing it, as the
        trusted side found them in the shared arena after the call."""
        return list(self._session.last_mutations)

    def measure_cpu(self) -> AbstractContextManager[CpuTime]:
        """``with student.measure_cpu() as cpu: ...``: afterwards ``cpu.seconds`` is the CPU
        time the worker (every thread and process of it) spent on the calls in the block,
        measured from outside by the kernel; ``cpu.source`` says which counter."""
        return self._session.measure_cpu()

    def fresh_worker(self) -> None:
        """End the worker; the next request starts a new one with the module imported anew.
        Nothing the student's code kept in memory, /tmp or its processes carries over."""
        self._session.close()

    def declare_inout(self, fn: str, **params: int) -> None:
        """Declare ``fn``'s in/out parameters by name and position (``bn_param=3``).

        Only their in-place changes (and numpy Generators') are copied back into the test's
        objects; any other change is recorded in ``last_mutations()`` instead. ``fn`` is the
        call's label: a module function's name, or ``"Class.method"`` for a handle's method.
        """
        self._session.inout[fn] = dict(params)

    def worker_call(self, target: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``grader.worker_tasks`` function ``target`` in the worker, module first."""
        return self._session.call(target, args, kwargs, target.rpartition(":")[2])


def is_handle(obj: Any) -> bool:
    return isinstance(obj, Handle)


def type_name(obj: Any) -> str:
    return obj._type if isinstance(obj, Handle) else type(obj).__name__
