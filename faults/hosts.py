"""Hosts for the fault harness: one network namespace per host, each joined by a veth pair to a
bridge in a namespace of its own ("wan"), where the harness's proxies run too.

The namespaces live only inside the harness's private mount namespace (faults/run starts it
under `unshare --pid --mount`): /run/netns there is a tmpfs of its own, so when the harness
ends, however it ends, the kernel takes the namespaces, their links and every process in them
with it. Nothing is left on the machine to clean up.
"""

import ctypes
import os
import signal
import subprocess

SUBNET = "10.77.0"
WAN = "wan"
WAN_ADDRESS = f"{SUBNET}.254"
PR_SET_PDEATHSIG = 1


def ip(*words, check=True):
    return subprocess.run(["ip", *words], check=check, capture_output=True, text=True)


def die_with_parent():
    """Runs in each child before exec: SIGKILL when the harness dies, however it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Network:
    """The hosts of one scenario, their links and the processes started in them."""

    def __init__(self):
        if os.environ.get("NML_FAULTS_SANDBOX") != "1":
            raise SystemExit("faults: run through faults/run, which makes the private namespaces")
        os.makedirs("/run/netns", exist_ok=True)
        if not os.path.ismount("/run/netns"):
            subprocess.run(["mount", "-t", "tmpfs", "nml-faults", "/run/netns"], check=True)
        self.hosts = {}
        self.processes = []
        self._namespace(WAN)
        ip("-n", WAN, "link", "add", "br0", "type", "bridge")
        ip("-n", WAN, "addr", "add", f"{WAN_ADDRESS}/24", "dev", "br0")
        ip("-n", WAN, "link", "set", "br0", "up")

    def _namespace(self, name):
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")

    def add_host(self, name):
        """A host named `name`, with an address of its own on the bridge; returns the address."""
        address = f"{SUBNET}.{len(self.hosts) + 1}"
        self._namespace(name)
        port = self.port_of(name)
        ip("link", "add", "eth0", "netns", name, "type", "veth", "peer", "name", port, "netns", WAN)
        ip("-n", WAN, "link", "set", port, "master", "br0", "up")
        ip("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", name, "link", "set", "eth0", "up")
        self.hosts[name] = address
        return address

    @staticmethod
    def port_of(host):
        return ("v-" + host)[:15]

    def cut(self, host):
        """The host's cable out: its packets go nowhere, its connections stay open."""
        ip("-n", WAN, "link", "set", self.port_of(host), "down")

    def restore(self, host):
        ip("-n", WAN, "link", "set", self.port_of(host), "up")

    def start(self, host, argv, log_path, env=None):
        """`argv` run in `host` (or "wan"), its output in `log_path`; a new process group."""
        log = open(log_path, "ab")
        process = subprocess.Popen(
            ["ip", "netns", "exec", host, *argv],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, preexec_fn=die_with_parent, start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def teardown(self):
        for process in self.processes:
            if process.poll() is None:
                self.kill(process)
        for name in [*self.hosts, WAN]:
            ip("netns", "del", name, check=False)
        self.hosts = {}
        self.processes = []
