"""The fault harness: runs scenarios (faults/scenarios/*.toml) on hosts made of network
namespaces, breaks links and processes on their timelines, and accounts for every message.

    faults/run [--short] [--transport tcp|tls|both] [--out DIR] [SCENARIO ...]

Start it through faults/run, never directly: that script gives it the private pid and mount
namespaces everything is torn down with. Exit status: 0 when every flow met its scenario's
`expect`, 1 when one did not, 2 on a usage error.
"""

import argparse
import copy
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import tomllib

import accounting
from hosts import WAN, WAN_ADDRESS, Network

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = {"worker": "worker.lua", "client": "client.lua", "deliverer": "deliverer.lua", "sender": "sender.lua",
           "receiver": "receiver.lua", "forwarder": "forwarder.lua"}
LISTENERS = ("worker", "receiver", "forwarder")
CASE_LIMIT_SLACK = 90  # seconds a case may run past its load before it is stopped


class CaseTimeout(Exception):
    pass


def log(*words):
    print(*words, flush=True)


# --- scenarios ---------------------------------------------------------------------------

class BadScenario(Exception):
    pass


REQUIRED = ("title", "seconds", "hosts", "node", "flow")


def load(path, short):
    try:
        with open(path, "rb") as f:
            scenario = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise BadScenario(f"{path}: not TOML: {e}") from e
    missing = [key for key in REQUIRED if key not in scenario]
    if missing:
        raise BadScenario(f"{path}: no {', '.join(missing)} (faults/README.md, \"A scenario\")")
    scenario["name"] = os.path.splitext(os.path.basename(path))[0]
    if short:
        overrides = scenario.get("short")
        if overrides is None:
            return None
        scenario = merge(scenario, overrides)
    return scenario


def merge(base, overrides):
    """`overrides` laid over `base`: tables key by key, the faults one by one (the Nth
    override over the Nth fault), anything else replaced."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif key == "fault" and isinstance(out.get(key), list):
            out[key] = [merge(b or {}, o or {}) for b, o in itertools.zip_longest(out[key], value)]
        else:
            out[key] = copy.deepcopy(value)
    return out


def variants(scenario):
    for variant in scenario.get("variant", [{"name": "as written"}]):
        s = copy.deepcopy(scenario)
        for node in s["node"]:
            node.setdefault("args", {}).update(variant.get("args", {}).get(node["name"], {}))
        yield variant["name"], s


# --- one run of one scenario -------------------------------------------------------------

class Case:
    def __init__(self, scenario, variant, transport, settings):
        self.s = scenario
        self.variant = variant
        self.transport = transport
        self.settings = settings
        slug = f"{scenario['name']}-{variant}-{transport}".replace(" ", "_")
        self.dir = os.path.join(settings.out, slug)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.stop_file = os.path.join(self.dir, "stop")
        self.net = None
        self.running = {}       # node name -> (process, incarnation)
        self.fault_times = []   # per fault: {"start": t, "end": t, "ups": [...]} (wall clock)
        self.harness_log = open(os.path.join(self.dir, "harness.log"), "w")

    def note(self, *words):
        self.harness_log.write(f"{time.time():.6f} " + " ".join(map(str, words)) + "\n")
        self.harness_log.flush()

    def address(self, text):
        out = str(text)
        for host, addr in self.net.hosts.items():
            out = out.replace("{" + host + "}", addr)
        for proxy in self.s.get("proxy", []):
            out = out.replace("{proxy:" + proxy["name"] + "}", f"{WAN_ADDRESS}:{proxy['port']}")
        return out

    def node_argv(self, node, incarnation):
        argv = [self.settings.lua, os.path.join(HERE, "nodes", SCRIPTS[node["role"]]),
                f"name={node['name']}", f"log={self.dir}/{node['name']}.{incarnation}.log",
                f"stop={self.stop_file}", f"transport={self.transport}", f"pki={self.settings.pki}"]
        if node["role"] not in LISTENERS:
            argv.append(f"seconds={self.s['seconds']}")
        for key, value in node.get("args", {}).items():
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, bool):
                    v = "true" if v else "false"
                argv.append(f"{key}={self.address(v)}")
        return argv

    def start_node(self, node):
        _, incarnation = self.running.get(node["name"], (None, 0))
        incarnation += 1
        env = dict(os.environ, LUA_CPATH=self.settings.cpath + ";;")
        process = self.net.start(node["host"], self.node_argv(node, incarnation),
                                 os.path.join(self.dir, f"{node['name']}.{incarnation}.out"), env)
        self.running[node["name"]] = (process, incarnation)
        self.note("start", node["name"], incarnation, process.pid)

    def wait_for(self, node, event, timeout=20):
        process, incarnation = self.running[node["name"]]
        path = os.path.join(self.dir, f"{node['name']}.{incarnation}.log")
        limit = time.time() + timeout
        while time.time() < limit:
            if process.poll() is not None:
                raise RuntimeError(f"{node['name']} ended at start (status {process.returncode}): "
                                   + tail(os.path.join(self.dir, f"{node['name']}.{incarnation}.out")))
            if os.path.exists(path):
                with open(path) as f:
                    if any(line.startswith(event + " ") for line in f):
                        return
            time.sleep(0.05)
        raise RuntimeError(f"{node['name']} did not log {event!r} in {timeout} s")

    def node(self, name):
        return next(n for n in self.s["node"] if n["name"] == name)

    def run(self):
        self.net = Network()
        try:
            return self._run()
        finally:
            self.net.teardown()
            self.harness_log.close()

    def _run(self):
        for host in self.s["hosts"]:
            self.net.add_host(host)
        for proxy in self.s.get("proxy", []):
            argv = [sys.executable, os.path.join(HERE, "proxy.py"), f"{WAN_ADDRESS}:{proxy['port']}",
                    self.address(proxy["target"]), "--seed", str(proxy.get("seed", 1))]
            for key in ("delay", "rate", "drop"):
                if key in proxy:
                    argv += [f"--{key}", str(proxy[key])]
            self.net.start(WAN, argv, os.path.join(self.dir, f"proxy-{proxy['name']}.log"))
        time.sleep(0.3)
        listeners = [n for n in self.s["node"] if n["role"] in LISTENERS]
        loaders = [n for n in self.s["node"] if n["role"] not in LISTENERS]
        for node in listeners:
            self.start_node(node)
        for node in listeners:
            self.wait_for(node, "ready")
        for node in loaders:
            self.start_node(node)
        for node in loaders:
            self.wait_for(node, "start", timeout=30)
        t0 = time.time()
        self.note("load", t0)
        self.timeline(t0)
        self.finish(t0)
        return self.account()

    def actions(self, t0):
        """Each fault as timed steps: (time, what, fault index)."""
        steps = []
        for i, f in enumerate(self.s.get("fault", [])):
            self.fault_times.append({"start": None, "end": None, "ups": []})
            at = t0 + f["at"]
            if "cut" in f:
                steps.append((at, ("cut", f["cut"]), i))
                if "seconds" in f:  # else the host is gone for good
                    steps.append((at + f["seconds"], ("restore", f["cut"]), i))
            elif "kill" in f:
                steps += [(at, ("kill", f["kill"]), i), (at + f["restart_after"], ("restart", f["kill"]), i)]
            elif "flap" in f:
                for k in range(f["times"]):
                    down = at + k * (f["down"] + f["up"])
                    steps += [(down, ("cut", f["flap"]), i), (down + f["down"], ("restore", f["flap"]), i)]
        return sorted(steps, key=lambda s: s[0])

    def timeline(self, t0):
        for when, (what, target), i in self.actions(t0):
            time.sleep(max(0.0, when - time.time()))
            now = time.time()
            if what == "cut":
                self.net.cut(target)
            elif what == "restore":
                self.net.restore(target)
                self.fault_times[i]["ups"].append(now)
            elif what == "kill":
                self.net.kill(self.running[target][0])
            elif what == "restart":
                self.start_node(self.node(target))
            times = self.fault_times[i]
            times["start"] = times["start"] or now
            if what in ("restore", "restart"):
                times["end"] = now
            self.note(what, target, now)

    def finish(self, t0):
        limit = t0 + self.s["seconds"] + CASE_LIMIT_SLACK
        loaders = [n["name"] for n in self.s["node"] if n["role"] not in LISTENERS]
        while not all(self.logged(name, "finished") for name in loaders):
            if time.time() > limit:
                raise CaseTimeout(f"the load did not finish in {self.s['seconds'] + CASE_LIMIT_SLACK} s")
            time.sleep(0.2)
        self.note("finished")
        # Let what is on its way arrive: until no node logs anything but its stats for 2 s (at
        # most 20 s).
        quiet_since, drain_limit, offsets = time.time(), time.time() + 20, {}
        while time.time() - quiet_since < 2 and time.time() < drain_limit:
            if self.news(offsets):
                quiet_since = time.time()
            time.sleep(0.2)
        open(self.stop_file, "w").close()
        self.note("stop")
        for name, (process, _) in self.running.items():
            try:
                process.wait(timeout=max(0.1, 10 - (time.time() - quiet_since)))
            except subprocess.TimeoutExpired:
                self.note("killed-at-stop", name)
                self.net.kill(process)

    def news(self, offsets):
        """True if a node logged an event other than its stats since the last call."""
        news = False
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".log") or name == "harness.log":
                continue
            with open(os.path.join(self.dir, name), "rb") as f:
                f.seek(offsets.get(name, 0))
                data = f.read()
            complete = data[:data.rfind(b"\n") + 1]
            offsets[name] = offsets.get(name, 0) + len(complete)
            news = news or any(line and not line.startswith(b"stats ") for line in complete.split(b"\n"))
        return news

    def logged(self, name, event):
        _, incarnation = self.running[name]
        path = os.path.join(self.dir, f"{name}.{incarnation}.log")
        with open(path) as f:
            return any(line.startswith(event + " ") for line in f)

    def account(self):
        logs = {n["name"]: accounting.NodeLog(self.dir, n["name"]) for n in self.s["node"]}
        flows = []
        for flow in self.s["flow"]:
            kind = flow["kind"]
            rows, total = accounting.reqrep(logs, flow) if kind == "reqrep" else accounting.oneway(logs, flow)
            flows.append({"flow": flow, "rows": rows, "total": total})
        recoveries = []
        for i, fault in enumerate(self.s.get("fault", [])):
            times = self.fault_times[i]
            if "flap" in fault:
                values = accounting.recoveries_after(logs, fault["recovery"], times["ups"])
            else:
                watch = dict(fault.get("recovery") or {})
                if "field" in watch:  # may name a host's address: "{w1}:7000"
                    watch["field"] = self.address(watch["field"])
                since = times["start"] if watch.get("from") == "start" else times["end"]
                value = accounting.recovery(logs, watch, since)
                values = [] if value is None else [value]
            recoveries.append({"fault": describe(fault), "seconds": values})
        for proxy in self.s.get("proxy", []):
            if "recovery" in proxy:
                resets = proxy_resets(os.path.join(self.dir, f"proxy-{proxy['name']}.log"))
                values = accounting.recoveries_after(logs, proxy["recovery"], resets)
                recoveries.append({"fault": f"{len(resets)} resets by proxy {proxy['name']}", "seconds": values})
        return {"scenario": self.s["name"], "title": self.s["title"], "variant": self.variant,
                "transport": self.transport, "flows": flows, "recoveries": recoveries,
                "dir": self.dir}


def proxy_resets(path):
    out = []
    with open(path) as f:
        for line in f:
            words = line.split()
            if len(words) >= 4 and words[1] == "end" and words[3] == "reset":
                out.append(float(words[0]))
    return out


def describe(fault):
    if "cut" in fault and "seconds" not in fault:
        return f"{fault['cut']} gone for good"
    if "cut" in fault:
        return f"{fault['cut']} cut {fault['seconds']} s"
    if "kill" in fault:
        return f"{fault['kill']} killed, restarted after {fault['restart_after']} s"
    if "flap" in fault:
        return f"{fault['flap']} down {fault['down']} s / up {fault['up']} s, {fault['times']} times"
    return "?"


def tail(path, n=5):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-n:])
    except OSError:
        return ""


# --- the table ---------------------------------------------------------------------------

COLUMNS = [("sent", "sent"), ("once", "delivered once"), ("duplicated", "duplicated"),
           ("lost_error", "lost, error seen"), ("lost_counted", "lost, counted"),
           ("lost_silent", "lost silently"), ("corrupt", "corrupt")]


def fmt_recovery(r):
    v = r["seconds"]
    if not v:
        return f"{r['fault']}: never"
    if len(v) == 1:
        return f"{r['fault']}: {v[0]:.2f} s"
    return f"{r['fault']}: median {statistics.median(v):.2f} s, max {max(v):.2f} s"


def table(results):
    lines = ["| scenario | transport | settings | flow | " + " | ".join(c[1] for c in COLUMNS) + " | recovery after the fault; notes |",
             "|---|---|---|---|" + "---:|" * len(COLUMNS) + "---|"]
    for r in results:
        rec = "; ".join(fmt_recovery(x) for x in r["recoveries"])
        for f in r["flows"]:
            for row in f["rows"] + [f["total"]]:
                cells = [str(row.get(k, "")) if row.get(k) is not None else "" for k, _ in COLUMNS]
                if row is not f["total"]:
                    cells[4] = cells[5] = "·"  # counters are per socket: set against the total
                notes = "; ".join(x for x in (rec if row is f["total"] else "", row.get("notes", "")) if x)
                lines.append(f"| {r['scenario']} | {r['transport']} | {r['variant']} | {row['name']} | "
                             + " | ".join(cells) + f" | {notes} |")
    return "\n".join(lines)


def verdicts(results, scenarios):
    """What broke a scenario's `expect` (and any corrupt message, always)."""
    failures = []
    for r in results:
        for f in r["flows"]:
            t = f["total"]
            expect = f["flow"].get("expect", {})
            for key, most in expect.items():
                if t.get(key, 0) > most:
                    failures.append(f"{r['scenario']}/{r['variant']}/{r['transport']}/{t['name']}: {key} = {t[key]}, at most {most} expected")
            if not t.get("once"):
                failures.append(f"{r['scenario']}/{r['variant']}/{r['transport']}/{t['name']}: nothing was delivered")
            if t.get("corrupt"):
                failures.append(f"{r['scenario']}/{r['transport']}/{t['name']}: {t['corrupt']} corrupt messages")
    return failures


# --- main --------------------------------------------------------------------------------

def make_pki(directory):
    os.makedirs(directory, exist_ok=True)
    ips = ",".join(f"IP:10.77.0.{i}" for i in list(range(1, 21)) + [254])

    def run(*argv):
        subprocess.run(["openssl", *argv], check=True, capture_output=True, cwd=directory)
    run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key")
    run("req", "-x509", "-new", "-key", "ca.key", "-days", "2", "-subj", "/CN=nml faults CA", "-out", "ca.crt")
    run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "server.key")
    run("req", "-new", "-key", "server.key", "-subj", "/CN=nml faults host", "-out", "server.csr")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write(f"subjectAltName={ips}\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "server.ext", "-out", "server.crt")


def main():
    p = argparse.ArgumentParser(description="nml's fault harness (start it through faults/run)")
    p.add_argument("scenarios", nargs="*", help="names in faults/scenarios (default: all)")
    p.add_argument("--short", action="store_true", help="each scenario's [short] version, for make test")
    p.add_argument("--transport", choices=["tcp", "tls", "both"], default="both")
    p.add_argument("--out", default=os.path.join(HERE, "..", "build", "faults"))
    p.add_argument("--lua", default="lua5.4")
    p.add_argument("--cpath", default=os.path.join(HERE, "..", "build", "5.4", "?.so"))
    settings = p.parse_args()
    settings.out = os.path.abspath(settings.out)
    settings.cpath = os.path.abspath(settings.cpath)
    settings.pki = os.path.join(settings.out, "pki")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # pid 1 ignores what it does not handle

    names = settings.scenarios or sorted(f[:-5] for f in os.listdir(os.path.join(HERE, "scenarios")) if f.endswith(".toml"))
    scenarios = []
    for name in names:
        path = os.path.join(HERE, "scenarios", name + ".toml")
        if not os.path.exists(path):
            print(f"faults: no scenario {name} (faults/scenarios/{name}.toml)", file=sys.stderr)
            return 2
        try:
            s = load(path, settings.short)
        except BadScenario as e:
            print(f"faults: {e}", file=sys.stderr)
            return 2
        if s is not None:
            scenarios.append(s)
    transports = ["tcp", "tls"] if settings.transport == "both" else [settings.transport]
    os.makedirs(settings.out, exist_ok=True)
    make_pki(settings.pki)

    results = []
    started = time.time()
    for scenario in scenarios:
        for variant, s in variants(scenario):
            for transport in transports:
                log(f"== {s['name']} ({variant}, {transport}): {s['title']}")
                case = Case(s, variant, transport, settings)
                signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(CaseTimeout("case time limit")))
                signal.alarm(int(s["seconds"] + 2 * CASE_LIMIT_SLACK))
                try:
                    result = case.run()
                except (CaseTimeout, RuntimeError) as e:
                    log(f"   failed: {e}")
                    result = {"scenario": s["name"], "variant": variant, "transport": transport,
                              "title": s["title"], "flows": [], "recoveries": [], "error": str(e), "dir": case.dir}
                finally:
                    signal.alarm(0)
                results.append(result)
                for f in result["flows"]:
                    t = f["total"]
                    log("   " + t["name"] + ": " + ", ".join(f"{label} {t.get(k, 0)}" for k, label in COLUMNS))
                    if t.get("notes"):
                        log("   " + t["notes"])
                    for key, most in f["flow"].get("expect", {}).items():
                        verdict = "met" if t.get(key, 0) <= most else "NOT MET"
                        log(f"   expected {key} at most {most}: {verdict}")
                for r in result["recoveries"]:
                    log("   recovery, " + fmt_recovery(r))
    text = table(results)
    print()
    print(text)
    with open(os.path.join(settings.out, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(settings.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    failures = verdicts(results, scenarios) + [f"{r['scenario']}/{r['transport']}: {r['error']}" for r in results if r.get("error")]
    print(f"\nfaults: {len(results)} runs in {time.time() - started:.0f} s; results in {settings.out}")
    for failure in failures:
        print("FAILED " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
