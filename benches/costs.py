#!/usr/bin/env python3
"""What one small message costs, nml beside raw NNG in the same layout: CPU time and context
switches per message (every process and thread of the run, from getrusage of the children),
and instructions per message (callgrind, user space only; where valgrind is installed).

    python3 benches/costs.py RAW_BINARY [ROUNDS]

Runs benches/messaging.lua (nml, Lua 5.4) and RAW_BINARY (benches/raw_nng.rs, with
RAW_SAME_LAYOUT=1 so that it runs nml's layout only) on the 64-byte and small-map one-way
tests over inproc, ipc and tcp, ROUNDS times each (3), taking turns to go first, and prints one
line per figure ("costs <who> <transport> <test> <cpu_us> <switches> <instructions>",
medians) for benches/to_markdown.py --costs. Each run moves 63,000 messages (3,000 of them
warm-up); start-up is counted too, and is under 1% of every figure.
"""
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

# BENCH_QUICK (benches/run's smoke, in make test): a hundredth of the messages, no callgrind.
QUICK = bool(os.environ.get("BENCH_QUICK"))
MESSAGES = 630 if QUICK else 63_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = ["one_way_64B", "one_way_map"]


def command(who, raw, transport, test):
    if who == "nml":
        return ["lua5.4", "messaging.lua", transport, test]
    return [raw, transport, test]


def environment():
    env = dict(os.environ, RAW_SAME_LAYOUT="1")
    env["LUA_CPATH"] = os.path.join(ROOT, "build", "5.4", "?.so") + ";;"
    return env


def usage(cmd):
    """CPU seconds and context switches of `cmd` and everything it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, cwd=os.path.join(ROOT, "benches"), env=environment(), check=True,
                   stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    switches = (after.ru_nvcsw + after.ru_nivcsw) - (before.ru_nvcsw + before.ru_nivcsw)
    return cpu, switches


def instructions(cmd):
    """User-space instructions of `cmd`, its threads and its child processes (callgrind)."""
    if QUICK or shutil.which("valgrind") is None:
        return None
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["valgrind", "--tool=callgrind", "--trace-children=yes",
                        "--callgrind-out-file=" + os.path.join(out, "cg.%p")] + cmd,
                       cwd=os.path.join(ROOT, "benches"), env=environment(), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        total = 0
        for name in os.listdir(out):
            with open(os.path.join(out, name)) as f:
                for line in f:
                    m = re.match(r"(?:summary|totals): (\d+)", line)
                    if m:
                        total += int(m.group(1))
                        break
        return total


def main():
    raw = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    for transport in ["inproc", "ipc", "tcp"]:
        for test in TESTS:
            figures = {"nml": [], "raw": []}
            for r in range(rounds):
                order = ["nml", "raw"] if r % 2 == 0 else ["raw", "nml"]
                for who in order:
                    figures[who].append(usage(command(who, raw, transport, test)))
            for who in ["nml", "raw"]:
                cpu = statistics.median(c for c, _ in figures[who]) / MESSAGES * 1e6
                switches = statistics.median(s for _, s in figures[who]) / MESSAGES
                counted = instructions(command(who, raw, transport, test))
                per_message = "-" if counted is None else "%.0f" % (counted / MESSAGES)
                print("costs %s %s %s %.2f %.2f %s" % (who, transport, test, cpu, switches,
                                                       per_message), flush=True)


if __name__ == "__main__":
    main()
