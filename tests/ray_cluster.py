"""A real two-node Ray cluster on this machine, for tests: a head and a worker node (one CPU each) inside a network
namespace made for the test, so that all Ray traffic stays on that namespace's loopback (outside it, Ray swaps
127.0.0.1 for the host's interface address by design). Everything started is stopped by its own process ids."""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))
HEAD_PORT = 6390
# Ray notices a dead node in seconds instead of about half a minute.
FAST_HEALTH_CHECKS = {"RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "4",
                      "RAY_health_check_initial_delay_ms": "1000"}


@dataclass
class RayCluster:
    namespace: str
    address: str
    temp_dir: str
    head_pids: set = field(default_factory=set)
    worker_pids: set = field(default_factory=set)  # the worker node's daemons (its raylet first)

    def run(self, command: list, **kwargs) -> subprocess.CompletedProcess:
        """Run a command inside the cluster's namespace."""
        return subprocess.run(["ip", "netns", "exec", self.namespace, *command], **kwargs)

    def popen(self, command: list, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.namespace, *command], **kwargs)

    def worker_tree(self) -> list:
        """The worker node's processes now: its daemons and everything they started (Ray workers, matches)."""
        found = {}
        for pid in self.worker_pids:
            try:
                process = psutil.Process(pid)
            except psutil.NoSuchProcess:
                continue
            for member in [process, *process.children(recursive=True)]:
                found[member.pid] = member
        return list(found.values())

    def kill_worker_node(self) -> int:
        """SIGKILL the worker node: its daemons and all their descendants, at once; -> how many processes."""
        members = self.worker_tree()
        for member in members:
            try:
                member.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(members, timeout=10)
        return len(members)


def _new_processes(before: set) -> set:
    return {pid for pid in psutil.pids() if pid not in before}


def _ray_start(namespace: str, args: list, env: dict, temp_dir: str) -> set:
    """`ray start ...` in the namespace; -> pids of the daemons it left running (new processes whose command line
    names this cluster's temp dir)."""
    before = set(psutil.pids())
    out = subprocess.run(["ip", "netns", "exec", namespace, RAY, "start", *args], capture_output=True, text=True,
                         env=env, timeout=180)
    if out.returncode != 0:
        raise RuntimeError(f"ray start {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    time.sleep(1.0)
    started = set()
    for pid in _new_processes(before):
        try:
            if temp_dir in " ".join(psutil.Process(pid).cmdline()):
                started.add(pid)
        except psutil.Error:
            continue
    return started


@contextmanager
def ray_cluster(tmp_path: Path):
    """A head node and a worker node, one CPU each, in a fresh network namespace; torn down afterwards."""
    namespace = f"gfsub-ray-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    temp_dir = f"/tmp/gfsub-ray-{uuid.uuid4().hex[:6]}"  # Ray's socket paths must stay short
    env = {**os.environ, **FAST_HEALTH_CHECKS, "RAY_USAGE_STATS_ENABLED": "0"}
    cluster = RayCluster(namespace, f"127.0.0.1:{HEAD_PORT}", temp_dir)
    try:
        subprocess.run(["ip", "netns", "exec", namespace, "ip", "link", "set", "lo", "up"], check=True)
        common = ["--num-cpus", "1", "--object-store-memory", str(200 * 2**20), "--disable-usage-stats"]
        cluster.head_pids = _ray_start(namespace, ["--head", "--port", str(HEAD_PORT), "--node-ip-address",
                                                   "127.0.0.1", "--include-dashboard", "false", "--temp-dir",
                                                   temp_dir, *common], env, temp_dir)
        cluster.worker_pids = _ray_start(namespace, ["--address", cluster.address, "--node-ip-address",
                                                     "127.0.0.1", *common], env, temp_dir)
        yield cluster
    finally:
        for pid in cluster.head_pids | cluster.worker_pids:
            try:
                process = psutil.Process(pid)
                members = [process, *process.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for member in members:
                try:
                    member.send_signal(signal.SIGKILL)
                except psutil.NoSuchProcess:
                    pass
        subprocess.run(["ip", "netns", "delete", namespace], check=False)
        subprocess.run(["rm", "-rf", temp_dir], check=False)
