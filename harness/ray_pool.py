"""Matches as Ray tasks: one CPU each, anywhere on a cluster, results streamed back to the driver as they finish.

Each task unpacks the participants' files (main.py and the Python modules beside it, sent once through Ray's
object store) into a temporary folder on its node and plays the match there in its own process, exactly as the
local pool does. If a node dies, Ray retries its running tasks elsewhere (`max_retries`); the driver records each
match once, as the only writer of results.jsonl. Progress (steps played) goes to a small actor on the driver's
node, which the driver reads about once a second.
"""

import io
import tarfile
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

from common.errors import RayClusterError
from harness.isolation import match_memory
from harness.processes import run_match
from harness.results import MatchResult, MatchSpec
from runtimes.sandbox import gigabytes

TASK_RETRIES = 3  # a match whose node dies is played again elsewhere, up to this many times
BUNDLE_LIMIT = 200 * 1024 * 1024  # bytes of Python files sent per participant
SKIPPED_FOLDERS = {"__pycache__", ".git", ".venv", "venv", "node_modules"}


def connect(address: str) -> None:
    """Join the cluster at `address` (`auto`: the one `ray start` made on this machine)."""
    try:
        import ray
    except ImportError:
        raise RayClusterError(None, "--ray needs Ray, which is not installed",
                              "pip install 'gfsub[ray]' (make test installs it)") from None
    if ray.is_initialized():
        return
    _refuse_silent_address(address)
    try:
        ray.init(address=address, logging_level="ERROR", log_to_driver=False, configure_logging=True)
    except Exception as exc:  # noqa: BLE001 - whatever Ray raises, one line naming the address
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        raise RayClusterError(None, f"--ray {address}: no Ray cluster answers ({lines[0][:160]})",
                              "start one with `ray start --head` (and `ray start --address HEAD:PORT` on each "
                              "other machine), then pass its address") from None


def _refuse_silent_address(address: str) -> None:
    """Fail in seconds, not after Ray's long reconnect loop, when nothing listens at HOST:PORT."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise RayClusterError(None, f"--ray {address}: nothing answers there ({exc.strerror or exc})",
                              "start the head with `ray start --head --port PORT`, or pass its address "
                              "(`ray status` on the head prints it)") from None


def bundle(agent_file: str) -> bytes:
    """main.py and every Python module in its folder tree, as a tar (a multi-file agent's helpers go along)."""
    folder = Path(agent_file).parent
    buffer = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(folder)
            if any(part in SKIPPED_FOLDERS or part.startswith(".") for part in relative.parts[:-1]):
                continue
            total += path.stat().st_size
            if total > BUNDLE_LIMIT:
                raise RayClusterError(folder, f"holds over {BUNDLE_LIMIT // 2**20} MB of Python files to send to "
                                      "the cluster", "give each agent a folder of its own")
            archive.add(path, arcname=str(relative))
    return buffer.getvalue()


def play_remote(spec_fields: dict, bundles: dict, board, match_timeout: float) -> dict:
    """The Ray task: unpack the agents, play the match in a process that dies with this worker, -> result."""
    import ray

    spec = MatchSpec(**spec_fields)
    with tempfile.TemporaryDirectory(prefix="gfsub-ray-match-") as folder:
        moved = {}
        for number, (agent_file, reference) in enumerate(bundles.items()):
            target = Path(folder) / f"agent-{number}"
            with tarfile.open(fileobj=io.BytesIO(ray.get(reference)), mode="r") as archive:
                archive.extractall(target, filter="data")
            moved[agent_file] = str(target / Path(agent_file).name)
        local = replace(spec, candidate=moved.get(spec.candidate, spec.candidate),
                        opponent=moved.get(spec.opponent, spec.opponent), run_dir=folder)

        def progress(index: int, steps: int) -> None:
            try:
                board.report.remote(index, steps)
            except Exception:  # noqa: BLE001, S110 - progress is best effort; the match goes on
                pass

        result = run_match(local, match_timeout, threads=1, on_progress=progress, die_with_parent=True)
    result = result or MatchResult.unfinished(local, "CRASHED", "the match was stopped on its Ray node")
    result.spec = spec  # report the driver's paths, not the node's temporary copies
    return result.to_dict()


class ProgressBoard:
    """Steps played per running match, as the tasks report them (a Ray actor on the driver's node)."""

    def __init__(self) -> None:
        self.steps = {}

    def report(self, index: int, steps: int) -> None:
        self.steps[index] = steps

    def snapshot(self) -> dict:
        return dict(self.steps)


class RayPool:
    """Play matches as tasks on the Ray cluster at `address`."""

    def __init__(self, address: str, *, match_timeout: float) -> None:
        self.address, self.match_timeout = address, match_timeout
        connect(address)

    def _check_fits(self, memory: int) -> None:
        import ray

        largest = max((node.get("Resources", {}).get("memory", 0) for node in ray.nodes() if node.get("Alive")),
                      default=0)
        if memory and memory > largest:
            raise RayClusterError(None, f"--ray {self.address}: a match's sandboxed agents need {gigabytes(memory)} "
                                  f"and the largest node offers Ray {gigabytes(int(largest))}",
                                  "pass a smaller --agent-memory, or add a node with more memory")

    def describe(self) -> str:
        import ray

        nodes = [node for node in ray.nodes() if node.get("Alive")]
        cpus = int(ray.cluster_resources().get("CPU", 0))
        return f"Ray cluster {self.address}: {len(nodes)} node(s), {cpus} CPU(s)"

    def run(self, specs: list[MatchSpec], on_result, on_progress=None) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
        # Restarted wherever it can be if its node dies (it then starts empty and fills up again).
        board = ray.remote(ProgressBoard).options(num_cpus=0, scheduling_strategy=here, max_restarts=-1,
                                                  max_task_retries=-1).remote()
        files = sorted({agent for spec in specs for agent in (spec.candidate, spec.opponent) if Path(agent).is_file()})
        bundles = {agent: ray.put(bundle(agent)) for agent in files}
        task = ray.remote(play_remote)
        self._check_fits(max((match_memory(sum(1 for agent in (spec.candidate, spec.opponent) if agent in bundles),
                                           spec.sandbox) for spec in specs), default=0))
        pending = {}
        for spec in specs:
            needed = {agent: bundles[agent] for agent in (spec.candidate, spec.opponent) if agent in bundles}
            memory = match_memory(len(needed), spec.sandbox)  # Ray places a match where its sandboxes fit
            placed = task.options(num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False,
                                  **({"memory": memory} if memory else {}))
            pending[placed.remote(asdict(spec), needed, board, self.match_timeout)] = spec
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for reference in ready:
                    spec = pending.pop(reference)
                    on_result(self._result(reference, spec))
                if on_progress is not None:
                    for index, steps in self._snapshot(board).items():
                        on_progress(index, steps)
        except KeyboardInterrupt:
            for reference in pending:
                ray.cancel(reference, force=True)
            raise
        finally:
            ray.kill(board)

    @staticmethod
    def _snapshot(board) -> dict:
        """Steps per running match; {} while the board is being restarted (progress is best effort)."""
        import ray

        try:
            return ray.get(board.snapshot.remote(), timeout=5)
        except (ray.exceptions.RayError, TimeoutError):
            return {}

    @staticmethod
    def _result(reference, spec: MatchSpec) -> MatchResult:
        """The task's result; a task that failed even after its retries is recorded as CRASHED."""
        import ray

        try:
            return MatchResult.from_dict(ray.get(reference))
        except ray.exceptions.RayError as exc:
            lines = str(exc).strip().splitlines() or [type(exc).__name__]
            return MatchResult.unfinished(spec, "CRASHED", f"Ray task failed after {TASK_RETRIES} retries: "
                                          f"{lines[0]}")
