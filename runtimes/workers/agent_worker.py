"""Host one agent file inside a target runtime: `python -I agent_worker.py READ_FD WRITE_FD AGENT_PATH`,
or check that it loads: `python -I agent_worker.py --probe AGENT_PATH WRITE_FD`.

Runs on the runtime's own interpreter (Python 3.7 and newer) with the standard library only, since the
runtime's venv does not have gfsub. The agent is loaded as kaggle-environments loads a file: with the
runtime's own kaggle-environments (`get_last_callable`: source read as text, `exec` in a fresh `{}`,
the last callable), or the same rules written out here when the runtime has no kaggle-environments.
Observations arrive as JSON and reach the agent structified (attribute access), as over Kaggle's HTTP
runner; the configuration comes with the first call only. Messages are length-prefixed JSON on two
dedicated pipes, so the agent's prints cannot corrupt them; its stdout/stderr of each call travel back
in the reply.

Requests -> replies:
  {"cmd": "act", "observation": {...}, "configuration": {...}, "values": true}
      -> {"ok", "action", "seconds", "values", ...} (values: a gfsub main.py's Q-values or logits, when asked)
      (the first act loads the agent, inside its timer, as on Kaggle, and says {"loaded": true} once it has)
  {"cmd": "replay", "observations": [...], "configuration": {...}}
      -> {"ok", "actions", "q_values", "seconds"}: a fresh load, then every observation in order
"""

import base64
import contextlib
import inspect
import io
import json
import os
import re
import struct
import sys
import time
import traceback


class Struct(dict):
    """kaggle-environments' Struct: a dict whose keys are also attributes (used when the runtime lacks it)."""

    def __init__(self, **entries):
        entries = {k: v for k, v in entries.items() if k != "items"}
        dict.__init__(self, entries)
        self.__dict__.update(entries)

    def __setattr__(self, attr, value):
        self.__dict__[attr] = value
        self[attr] = value


try:
    from kaggle_environments.agent import get_last_callable as _kaggle_get_last_callable
    from kaggle_environments.utils import Struct  # noqa: F811 - the runtime's own, when it has one

    LOADER = "kaggle-environments"
except Exception:  # noqa: BLE001 - any import failure means: no kaggle-environments in this runtime
    _kaggle_get_last_callable = None
    LOADER = "gfsub (kaggle-environments' rules)"


def structify_object(entries):
    """json object_hook: builds what kaggle-environments' `structify` makes of parsed JSON, in one pass."""
    return Struct(**entries)


def last_callable(path):
    """The agent in the file at `path`, by the runtime's kaggle-environments if it has one."""
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    if _kaggle_get_last_callable is not None:
        if "path" in inspect.signature(_kaggle_get_last_callable).parameters:
            return _kaggle_get_last_callable(source, path=path)  # today's loader: also puts its folder on sys.path
        return _kaggle_get_last_callable(source)  # 2020's loader: no sys.path change
    namespace = {}
    exec(compile(source, path, "exec"), namespace)
    return [value for value in namespace.values() if callable(value)][-1]


def call_agent(agent, observation, configuration):
    """kaggle-environments' call: arguments cut to what the function accepts."""
    args = [observation, configuration]
    code = getattr(agent, "__code__", None)
    if code is not None:
        args = args[:code.co_argcount]
    return agent(*args)


def to_json(value):
    """Actions as JSON: numpy scalars and arrays become plain numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"the agent returned {value!r}, which is not JSON")


def last_values(agent):
    """The values (Q-values or logits) behind a gfsub main.py's last action, as its policy holds them (None for any
    other agent); the match process reads an agent it loads itself the same way (harness/wanted.py)."""
    return getattr(getattr(agent, "__globals__", {}).get("POLICY"), "last_values", None)


def q_values_of(agent):
    """Those values as floats."""
    values = last_values(agent)
    return None if values is None else [float(q) for q in values]


def packed_values_of(agent):
    """The same values as little-endian float32 bytes in base64 (None for any other agent): a step pays for one
    copy here and no float formatting; the match process unpacks them after the match (harness/wanted.py)."""
    values = last_values(agent)
    if values is None:
        return None
    if hasattr(values, "astype"):  # a numpy array: its bytes as they are
        return base64.b64encode(values.astype("<f4").tobytes()).decode("ascii")
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


class FirstChars(io.StringIO):
    """An agent's prints of one call, up to `limit` characters (kaggle-environments keeps the first 1,024): an
    agent that prints without end costs no memory here."""

    limit = 16384

    def write(self, text):
        room = self.limit - self.tell()
        if room > 0:
            super().write(text[:room])
        return len(text)


class Host:
    def __init__(self, path, on_loaded=lambda: None):
        self.path = path
        self.agent = None
        self.configuration = Struct()
        self.on_loaded = on_loaded  # told once the agent's file is loaded, before its first call

    def act(self, request):
        observation = request["observation"]
        if "configuration" in request:  # sent with the first call only: it does not change during a match
            self.configuration = request["configuration"] or Struct()
        configuration = self.configuration
        out, err = FirstChars(), FirstChars()
        start = time.perf_counter()
        loading = self.agent is None
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                if self.agent is None:
                    self.agent = last_callable(self.path)
                    self.on_loaded()
                loading = False
                action = call_agent(self.agent, observation, configuration)
            seconds = time.perf_counter() - start
            reply = {"ok": True, "action": action, "seconds": seconds, "stdout": out.getvalue(),
                     "stderr": err.getvalue()}
            if request.get("values"):  # what a gfsub main.py wanted: the values behind this action
                reply["values"] = packed_values_of(self.agent)
            return reply
        except Exception as exc:  # noqa: BLE001 - reported to the match, which rules it an ERROR
            return dict(failure(exc, out.getvalue(), err.getvalue()), at_import=loading)

    def replay(self, request):
        configuration = request.get("configuration") or Struct()
        actions, q_values, seconds = [], [], []
        out, err = FirstChars(), FirstChars()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                for observation in request["observations"]:
                    start = time.perf_counter()
                    if self.agent is None:
                        self.agent = last_callable(self.path)
                    action = call_agent(self.agent, observation, configuration)
                    seconds.append(time.perf_counter() - start)
                    actions.append(json.loads(json.dumps(action, default=to_json)))
                    q_values.append(q_values_of(self.agent))
        except Exception as exc:  # noqa: BLE001
            return failure(exc, out.getvalue(), err.getvalue())
        return {"ok": True, "actions": actions, "q_values": q_values, "seconds": seconds,
                "stdout": out.getvalue()[-4000:], "stderr": err.getvalue()[-4000:]}


def missing_module(exc):
    """The module an ImportError names, also through kaggle-environments' InvalidArgument wrapper."""
    while exc is not None:
        if isinstance(exc, ImportError) and getattr(exc, "name", None):
            return exc.name
        found = re.search(r"No module named '([^']+)'", str(exc))
        if found:
            return found.group(1)
        exc = exc.__cause__ or exc.__context__
    return None


def failure(exc, stdout, stderr):
    reply = {"ok": False, "error": traceback.format_exc(), "exception": type(exc).__name__,
             "message": str(exc), "stdout": stdout[-4000:], "stderr": stderr[-4000:]}
    module = missing_module(exc)
    if module:
        reply["missing_module"] = module
    return reply


def read_message(stream):
    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack("<I", header)
    return json.loads(stream.read(length).decode("utf-8"), object_hook=structify_object)


def write_message(stream, message):
    data = json.dumps(message, default=to_json).encode("utf-8")
    stream.write(struct.pack("<I", len(data)) + data)
    stream.flush()


def probe(path, descriptor):
    """Load the agent once and write to `descriptor` what went wrong as JSON ("" when it loads to a callable)."""
    try:
        agent = last_callable(path)
        problem = "" if callable(agent) else NO_CALLABLE
    except Exception as exc:  # noqa: BLE001 - whatever the file raises, one line for the user
        lines = str(exc).strip().splitlines()
        last = lines[-1] if lines else type(exc).__name__
        problem = NO_CALLABLE if "list index out of range" in last else (
            "does not load with kaggle-environments' loader: " + last)
    os.write(descriptor, json.dumps(problem).encode())


READY_MARK = b"\n--- gfsub agent worker ready ---\n"
NO_CALLABLE = "defines no callable (kaggle-environments plays the last one)"


def main():
    if sys.argv[1] == "--probe":
        probe(sys.argv[2], int(sys.argv[3]))
        return
    requests = open(int(sys.argv[1]), "rb")  # buffered: read(n) returns all n bytes
    replies = open(int(sys.argv[2]), "wb")
    host = Host(sys.argv[3], on_loaded=lambda: write_message(replies, {"loaded": True}))
    sys.stderr.flush()
    os.write(2, READY_MARK)  # what the process prints from here on is the agent's
    write_message(replies, {"ok": True, "python": "{}.{}.{}".format(*sys.version_info[:3]), "loader": LOADER})
    while True:
        request = read_message(requests)
        if request is None:  # the match process is gone
            return
        handler = host.replay if request["cmd"] == "replay" else host.act
        reply = handler(request)
        try:
            write_message(replies, reply)
        except TypeError as exc:
            write_message(replies, failure(exc, reply.get("stdout", ""), reply.get("stderr", "")))


if __name__ == "__main__":
    main()
