"""What happened to every message: reads the nodes' logs and makes one table row per flow.

A node's log (faults/nodes/common.lua) has one line per event: `event time fields...`. A node
restarted by the harness writes a new log per incarnation (`name.1.log`, `name.2.log`), so a
counter (`stats` lines) is the last value each incarnation wrote, summed over them; what an
incarnation killed with SIGKILL had counted since its last line is unknown, and said so.
"""

import glob
import os
from collections import Counter, defaultdict


class NodeLog:
    """The events of one node, over all its incarnations."""

    def __init__(self, run_dir, name):
        self.name = name
        self.events = []          # (event, time, fields)
        self.counters = Counter()  # summed over incarnations, from each one's last stats line
        self.incarnations = 0
        for path in sorted(glob.glob(os.path.join(run_dir, f"{name}.*.log"))):
            self.incarnations += 1
            last = {}
            with open(path, errors="replace") as f:
                for line in f:
                    words = line.split()
                    if len(words) < 2:
                        continue
                    try:
                        t = float(words[1])
                    except ValueError:
                        continue  # a line the node did not write (an error on its stderr)
                    self.events.append((words[0], t, words[2:]))
                    if words[0] == "stats" and len(words) >= 4:
                        label = words[2].removesuffix("-final")
                        label = "socket" if label == "final" else label
                        last[label] = dict(kv.split("=") for kv in words[3].split(","))
            for label, values in last.items():
                for k, v in values.items():
                    self.counters[(label, k)] += int(v)

    def of(self, event):
        return [(t, fields) for e, t, fields in self.events if e == event]

    def counter(self, name, labels=("socket", "front", "back")):
        return sum(self.counters[(label, name)] for label in labels)


def first_after(log, event, after, field=None):
    """The time of the first `event` in `log` after `after` (with `field` among its fields)."""
    times = [t for t, fields in log.of(event) if t > after and (field is None or field in fields)]
    return min(times) if times else None


class Row(dict):
    """sent, once, duplicated, lost_error, lost_counted, lost_silent, corrupt, notes."""


def oneway(logs, flow):
    """push/pull (each message to one receiver) or pub/sub (each message to every receiver)."""
    senders = [logs[n] for n in flow["senders"]]
    receivers = [logs[n] for n in flow["receivers"]]
    sent, errors = set(), set()
    for s in senders:
        sent |= {(s.name, number(f[0])) for _, f in s.of("sent")}
        errors |= {(s.name, number(f[0])) for _, f in s.of("senderr")}
    attempted = sent | errors
    counted = sum(s.counter("send_drops") for s in senders)
    counted += sum(logs[n].counter("send_drops") + logs[n].counter("recv_drops")
                   for n in flow.get("relays", []))
    rows = []
    per_receiver = flow["kind"] == "fanout"
    groups = [[r] for r in receivers] if per_receiver else [receivers]
    total = Row(sent=0, once=0, duplicated=0, lost_error=0, lost=0, corrupt=0)
    for group in groups:
        got, corrupt = Counter(), 0
        for r in group:
            for _, f in r.of("got"):
                if f[2] != "ok" or number(f[0]) is None:
                    corrupt += 1
                    continue
                got[(f[1], number(f[0]))] += 1
            counted += r.counter("recv_drops") + r.counter("oversize_drops")
        row = Row(name=flow["name"] + (f" → {group[0].name}" if per_receiver else ""),
                  sent=len(attempted), corrupt=corrupt)
        row["once"] = sum(1 for m in attempted if got[m] == 1)
        row["duplicated"] = sum(1 for m in attempted if got[m] > 1)
        row["lost_error"] = sum(1 for m in errors if got[m] == 0)
        row["lost"] = sum(1 for m in sent if got[m] == 0)
        row["strangers"] = sum(1 for m in got if m not in attempted)
        rows.append(row)
        for k in ("sent", "once", "duplicated", "lost_error", "lost", "corrupt"):
            total[k] += row[k]
    total["name"] = flow["name"] + (" (all subscribers)" if per_receiver else "")
    # Counters say how many were dropped, not which: they are set against the whole flow's
    # losses that no sender saw an error for.
    total["lost_counted"] = min(counted, total["lost"])
    total["lost_silent"] = total["lost"] - total["lost_counted"]
    total["counted"] = counted
    notes = [f"counters: {counted}"]
    if counted > total["lost"]:
        notes.append(f"{counted - total['lost']} more counted than lost")
    total["notes"] = "; ".join(notes)
    return rows if per_receiver else [], total


def number(word):
    """A message number as a node logged it, or None (a message that was not one of ours)."""
    try:
        return int(word)
    except (TypeError, ValueError):
        return None


def reqrep(logs, flow):
    client = logs[flow["client"]]
    workers = [logs[n] for n in flow["workers"]]
    sent = {number(f[0]) for _, f in client.of("sent")}
    send_errors = {number(f[0]) for _, f in client.of("senderr")}
    replies = Counter(number(f[0]) for _, f in client.of("reply"))
    failed = {number(f[0]) for _, f in client.of("fail")}
    # A reply that was not its request's is as bad as a corrupt message.
    corrupt = len(client.of("wrongreply"))
    served = Counter()
    for w in workers:
        for _, f in w.of("served"):
            if f[2] != "ok" or number(f[0]) is None:
                corrupt += 1
            else:
                served[number(f[0])] += 1
    answered = {s for s in sent if replies[s] >= 1}
    row = Row(name=flow["name"], sent=len(sent | send_errors), corrupt=corrupt)
    row["once"] = sum(1 for s in answered if served[s] == 1)
    # Run more than once by the workers (what resend_time does); the client got one reply.
    row["duplicated"] = sum(1 for s in sent if served[s] > 1)
    row["lost_error"] = len(send_errors) + sum(1 for s in sent if s in failed and s not in answered)
    # Lost silently: no reply and no error, or a reply for a request no worker ran (the client
    # was told it was done).
    row["acknowledged_never_run"] = sum(1 for s in answered if served[s] == 0)
    row["lost"] = sum(1 for s in sent if s not in answered and s not in failed) + row["acknowledged_never_run"]
    row["lost_counted"] = 0
    row["lost_silent"] = row["lost"]
    row["replied_twice"] = sum(1 for s in sent if replies[s] > 1)
    row["served_after_giving_up"] = sum(1 for s in failed if served[s] > 0)
    row["counted"] = client.counter("recv_drops") + client.counter("send_drops")
    sent_at = {int(f[0]): t for t, f in client.of("sent")}
    waits = sorted(t - sent_at[int(f[0])] for t, f in client.of("reply") if int(f[0]) in sent_at)
    notes = []
    if waits:
        notes.append(f"replies: median {waits[len(waits) // 2] * 1000:.0f} ms, slowest {waits[-1]:.2f} s, "
                     f"{sum(1 for w in waits if w > 1)} over 1 s")
    behind = sum(int(f[0]) for _, f in client.of("behind"))
    if behind:
        notes.append(f"{behind} never started: the client fell behind")
    if row["served_after_giving_up"]:
        notes.append(f"{row['served_after_giving_up']} run after the client gave up")
    if row["replied_twice"]:
        notes.append(f"{row['replied_twice']} replied twice")
    if row["acknowledged_never_run"]:
        notes.append(f"{row['acknowledged_never_run']} acknowledged and run by no worker")
    row["notes"] = "; ".join(notes)
    return [], row


def recovery(logs, watch, since):
    """Seconds from `since` (the fault's end, or its start for a host gone for good) to the
    first event `watch` names: the path working again, or the dead peer dropped."""
    if not watch or since is None:
        return None
    t = first_after(logs[watch["node"]], watch["event"], since, watch.get("field"))
    return None if t is None else t - since


def recoveries_after(logs, watch, times):
    """For each time in `times` (a link back up, a reset), how long until the path worked."""
    out = []
    for t0 in times:
        t = first_after(logs[watch["node"]], watch["event"], t0, watch.get("field"))
        if t is not None:
            out.append(t - t0)
    return out
