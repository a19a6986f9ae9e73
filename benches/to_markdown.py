"""Turns the output of the benches into the tables of docs/performance.md: ops/s per codec,
and nml's ratio to lua-cmsgpack (the anchor), to lua-cjson and to the fastest other
MessagePack codec measured."""
import re
import statistics
import sys

ROW = re.compile(r"^  (.{20}) (pack|unpack)\s+(\S+)\s+(\d+) ops/s\s+([\d.]+) MB/s")


def table(path):
    title, rows, codecs = None, {}, []
    for line in open(path):
        if line.startswith("codec throughput on"):
            title = line.strip()
        m = ROW.match(line)
        if m:
            payload, direction, codec, ops, mbs = m.groups()
            if codec.startswith("nml:strings="):
                continue  # the table of strings()
            key = (payload.strip(), direction)
            rows.setdefault(key, {})[codec] = (int(ops), float(mbs))
            if codec not in codecs:
                codecs.append(codec)
    # On LuaJIT the rows are nml's two codecs; its default packs with the Lua one, which is
    # also compared with LuaJIT's own serializer (string.buffer, not MessagePack).
    nml_name = "nml" if "nml" in codecs else "nml:lua"
    sbuf = "string.buffer" in codecs
    out = [f"*{title}*", ""]
    out.append("| payload | | " + " | ".join(codecs)
               + f" | {nml_name} / cmsgpack | {nml_name} / cjson | {nml_name} / best other msgpack |"
               + (f" {nml_name} / string.buffer |" if sbuf else ""))
    out.append("|---|---|" + "---:|" * len(codecs) + "---:|---:|---:|" + ("---:|" if sbuf else ""))
    for (payload, direction), by_codec in rows.items():
        cells = []
        for c in codecs:
            ops = by_codec.get(c)
            cells.append(f"{ops[0]:,}" if ops else "-")
        nml = by_codec[nml_name][0]
        cjson = by_codec.get("lua-cjson", (0,))[0]
        others = [v[0] for c, v in by_codec.items()
                  if not c.startswith("nml") and c not in ("lua-cjson", "string.buffer")]
        cmsgpack = by_codec.get("lua-cmsgpack", (0,))[0]
        ratio_cmsgpack = f"{nml / cmsgpack:.2f}x" if cmsgpack else "-"
        ratio_cjson = f"{nml / cjson:.1f}x" if cjson else "-"
        ratio_best = f"{nml / max(others):.1f}x" if others else "-"
        ratio_sbuf = ""
        if sbuf:
            sb = by_codec.get("string.buffer", (0,))[0]
            ratio_sbuf = f" {nml / sb:.2f}x |" if sb else " - |"
        out.append(f"| {payload} | {direction} | " + " | ".join(cells)
                   + f" | {ratio_cmsgpack} | {ratio_cjson} | {ratio_best} |" + ratio_sbuf)
    return "\n".join(out)


def strings(path):
    """The rows of nml.pack with strings = "str" and "auto" (packing only), beside lua-cmsgpack
    from the same run: what the UTF-8 check costs."""
    title, rows = None, {}
    for line in open(path):
        if line.startswith("codec throughput on"):
            title = line.strip()
        m = ROW.match(line)
        if m and m.group(2) == "pack":
            rows.setdefault(m.group(1).strip(), {})[m.group(3)] = int(m.group(4))
    out = [f"*{title}*", "",
           "| payload | strings = \"str\" | strings = \"auto\" (default) "
           "| auto / str | lua-cmsgpack | auto / cmsgpack |",
           "|---|---:|---:|---:|---:|---:|"]
    for payload, r in rows.items():
        if "nml:strings=auto" not in r:
            continue
        s, a, c = r["nml:strings=str"], r["nml:strings=auto"], r.get("lua-cmsgpack")
        out.append(f"| {payload} | {s:,} | {a:,} | {a / s:.2f}x | "
                   + (f"{c:,} | {a / c:.2f}x |" if c else "- | - |"))
    return "\n".join(out)


def messaging(path):
    """Rows '<who> <transport> <test> <value> <unit>' from several rounds, who being nml, raw
    (raw NNG laid out as nml's bench is) or raw-threads (two threads of one process), into one
    table: the median of each figure, and the median of the rounds' ratios."""
    who_all = ("nml", "raw", "raw-threads")
    figures, order = {}, []
    for line in open(path):
        parts = line.split()
        if len(parts) == 5 and parts[0] in who_all:
            who, transport, test, value, unit = parts
            key = (transport, test, unit)
            if key not in figures:
                figures[key] = {w: [] for w in who_all}
                order.append(key)
            figures[key][who].append(float(value))
    rounds = max(len(f["nml"]) for f in figures.values())
    out = [f"*median of {rounds} rounds*", "",
           "| transport | test | nml | raw NNG, same layout | nml / raw | raw NNG, two threads | nml / two threads |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for key in order:
        transport, test, unit = key
        f = figures[key]

        def fmt(values):
            if not values:
                return "-"
            v = statistics.median(values)
            if unit == "msg/s":
                return f"{v:,.0f} {unit}"
            return f"{v:.2f} {unit}" if unit == "GB/s" else f"{v:.1f} {unit}"

        def ratio(other):
            pairs = list(zip(f["nml"], f[other]))
            return f"{statistics.median(n / r for n, r in pairs):.0%}" if pairs else "-"

        out.append(f"| {transport} | {test} | {fmt(f['nml'])} | {fmt(f['raw'])} | {ratio('raw')} "
                   f"| {fmt(f['raw-threads'])} | {ratio('raw-threads')} |")
    return "\n".join(out)


def copies(path):
    """Rows 'copies <transport> <way> <MiB> <malloc> (both <x> | sender <x> receiver <y>) rate
    <GB/s>' into one table per malloc setting, nml beside the json way."""
    rows, order = {}, []
    for line in open(path):
        parts = line.split()
        if not parts or parts[0] != "copies":
            continue
        transport, way, mib, malloc = parts[1:5]
        figures = dict(zip(parts[5::2], parts[6::2]))
        key = (malloc, transport, mib)
        if key not in rows:
            rows[key] = {}
            order.append(key)
        rows[key][way] = figures
    titles = {
        "thp": "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576:glibc.malloc.hugetlb=1 "
               "(blocks of 1 MiB or more mapped on their own, in huge pages, and unmapped when freed)",
        "mmap": "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576 "
                "(the same in 4 KiB pages)",
        "default": "glibc as it comes (freed blocks kept for reuse, and counted in VmHWM)",
    }
    out = []
    for malloc in ("thp", "mmap", "default"):
        out += [f"*{titles[malloc]}*", "",
                "| transport | buffer | nml sender | nml receiver | JSON sender | JSON receiver | nml rate | JSON rate | nml / JSON |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for key in order:
            if key[0] != malloc:
                continue
            _, transport, mib = key
            n, j = rows[key].get("nml", {}), rows[key].get("json", {})

            def peaks(f):
                if "both" in f:
                    return [f"{f['both']}x (both ends)", "(one process)"]
                return [f"{f.get('sender', '-')}x", f"{f.get('receiver', '-')}x"]

            ratio = f"{float(n['rate']) / float(j['rate']):.1f}x" if n.get("rate") and j.get("rate") else "-"
            out.append(f"| {transport} | {mib} MiB | " + " | ".join(peaks(n) + peaks(j)) +
                       f" | {n.get('rate', '-')} GB/s | {j.get('rate', '-')} GB/s | {ratio} |")
        out.append("")
    return "\n".join(out)


def client_rounds(path, word):
    """Rows '<who> <word> <clients> <requests/s> <median µs> <p99 µs>' (the raw bench's clients,
    several rounds): per number of clients, in order, each who's (rate, median, p99) list."""
    figures, order = {}, []
    for line in open(path):
        parts = line.split()
        if len(parts) == 6 and parts[1] == word:
            who, _, n, rate, median, p99 = parts
            if n not in figures:
                figures[n] = {}
                order.append(n)
            figures[n].setdefault(who, []).append((float(rate), float(median), float(p99)))
    return figures, order


def contexts(path):
    """Rows '<who> contexts ...' (client_rounds), who being nml or pynng, into one table of
    medians, and the median of the rounds' ratios."""
    figures, order = client_rounds(path, "contexts")
    rounds = max(len(f["nml"]) for f in figures.values())
    out = [f"*median of {rounds} rounds*", "",
           "| req clients | nml req/s | pynng req/s | nml / pynng | nml median | pynng median "
           "| nml p99 | pynng p99 |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in order:
        f = figures[n]

        def med(who, i):
            return statistics.median(r[i] for r in f[who])

        ratio = statistics.median(a[0] / b[0] for a, b in zip(f["nml"], f["pynng"]))
        out.append(f"| {n} | {med('nml', 0):,.0f} | {med('pynng', 0):,.0f} | {ratio:.2f}x "
                   f"| {med('nml', 1):.0f} µs | {med('pynng', 1):.0f} µs "
                   f"| {med('nml', 2):.0f} µs | {med('pynng', 2):.0f} µs |")
    return "\n".join(out)


def forward(path):
    """Rows '<way> clients ...' (client_rounds), way being direct, forwarder or before (the
    forwarder on an older build), into one table of medians and the median of the rounds'
    ratios to direct (and of forwarder to before)."""
    figures, order = client_rounds(path, "clients")
    ways = [w for w in ("direct", "forwarder", "before") if any(w in f for f in figures.values())]
    rounds = max(len(f["direct"]) for f in figures.values())
    head = "| req clients | " + " | ".join(f"{w} req/s" for w in ways) + " | forwarder / direct"
    head += " | forwarder / before" if "before" in ways else ""
    head += " | " + " | ".join(f"{w} median, p99" for w in ways) + " |"
    out = [f"*median of {rounds} rounds*", "", head, "|" + "---:|" * (2 * len(ways) + 1 + ("before" in ways) + 1)]
    for n in order:
        f = figures[n]

        def med(way, i):
            return statistics.median(r[i] for r in f[way])

        def ratio(a, b):
            return statistics.median(x[0] / y[0] for x, y in zip(f[a], f[b]))

        cells = [f"{med(w, 0):,.0f}" for w in ways] + [f"{ratio('forwarder', 'direct'):.2f}x"]
        if "before" in ways:
            cells.append(f"{ratio('forwarder', 'before'):.2f}x")
        cells += [f"{med(w, 1):.0f} / {med(w, 2):.0f} µs" for w in ways]
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def nginx(path):
    """Rows 'nginx <way> <connections> <requests/s> <p50 µs> <p99 µs> <errors>' from several
    rounds, way being nml or http, into one table of medians and the median of the rounds'
    ratios (nml's requests/s over http's; http's p99 over nml's)."""
    figures, order, cpu = {}, [], {}
    for line in open(path):
        parts = line.split()
        if len(parts) == 5 and parts[0] == "nginx-cpu":
            _, way, n, in_nginx, in_worker = parts
            cpu.setdefault((n, way), []).append((float(in_nginx), float(in_worker)))
        if len(parts) == 7 and parts[0] == "nginx":
            _, way, n, rate, p50, p99, errors = parts
            if n not in figures:
                figures[n] = {"nml": [], "http": [], "floor": []}
                order.append(n)
            figures[n][way].append((float(rate), float(p50), float(p99), int(errors)))
    rounds = max(len(f["nml"]) for f in figures.values())
    out = [f"*median of {rounds} rounds*", "",
           "| connections | nml.stream req/s | HTTP req/s | nml / HTTP | nml p50 | HTTP p50 "
           "| nml p99 | HTTP p99 | errors | Lua floor req/s |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in order:
        f = figures[n]

        def med(way, i):
            return statistics.median(r[i] for r in f[way])

        ratio = statistics.median(a[0] / b[0] for a, b in zip(f["nml"], f["http"]))
        errors = sum(r[3] for r in f["nml"] + f["http"] + f["floor"])
        floor = f"{med('floor', 0):,.0f}" if f["floor"] else "-"
        out.append(f"| {n} | {med('nml', 0):,.0f} | {med('http', 0):,.0f} | {ratio:.2f}x "
                   f"| {med('nml', 1):.0f} µs | {med('http', 1):.0f} µs "
                   f"| {med('nml', 2):.0f} µs | {med('http', 2):.0f} µs | {errors} | {floor} |")
    if cpu:
        out += ["", "CPU time per request (medians; /proc ticks of 10 ms over each run):", "",
                "| connections | nginx worker, nml | nginx worker, HTTP | nginx worker, Lua floor "
                "| Lua worker, nml | Lua worker, HTTP |", "|---:|---:|---:|---:|---:|---:|"]
        for n in order:
            def cmed(way, i):
                return statistics.median(r[i] for r in cpu.get((n, way), [(0, 0)]))
            out.append(f"| {n} | {cmed('nml', 0):.1f} µs | {cmed('http', 0):.1f} µs "
                       f"| {cmed('floor', 0):.1f} µs "
                       f"| {cmed('nml', 1):.1f} µs | {cmed('http', 1):.1f} µs |")
    return "\n".join(out)


def tls(path):
    """Rows 'nml tcp|tls <test> <value> <unit>' and 'cpu tcp|tls <test> <value> <unit>' (both
    processes' CPU time) from several rounds into one table: the median of each, and the median
    of the rounds' ratios tls / tcp."""
    figures, order = {}, []
    for line in open(path):
        parts = line.split()
        if len(parts) == 5 and parts[0] in ("nml", "cpu") and parts[1] in ("tcp", "tls"):
            kind, transport, test, value, unit = parts
            if test not in figures:
                figures[test] = {"nml": {"tcp": [], "tls": []}, "cpu": {"tcp": [], "tls": []}}
                order.append(test)
            figures[test][kind][transport].append(float(value))
            figures[test][kind + "_unit"] = unit
    rounds = max(len(f["nml"]["tcp"]) for f in figures.values())
    out = [f"*median of {rounds} rounds; CPU: sender and receiver together, every thread*", "",
           "| test | tcp:// | tls+tcp:// | tls / tcp | CPU tcp:// | CPU tls+tcp:// | CPU tls / tcp |",
           "|---|---:|---:|---:|---:|---:|---:|"]

    def fmt(values, unit):
        if not values:
            return "-"
        v = statistics.median(values)
        return f"{v:,.0f} {unit}" if unit == "msg/s" else f"{v:.2f} {unit}"

    def ratio(pairs):
        pairs = list(pairs)
        return f"{statistics.median(b / a for a, b in pairs):.0%}" if pairs else "-"

    for test in order:
        f = figures[test]
        speed, cpu = f["nml"], f["cpu"]
        unit, cpu_unit = f.get("nml_unit", ""), f.get("cpu_unit", "").replace("us/", "µs/")
        out.append(f"| {test} | {fmt(speed['tcp'], unit)} | {fmt(speed['tls'], unit)} | "
                   f"{ratio(zip(speed['tcp'], speed['tls']))} | {fmt(cpu['tcp'], cpu_unit)} | "
                   f"{fmt(cpu['tls'], cpu_unit)} | {ratio(zip(cpu['tcp'], cpu['tls']))} |")
    return "\n".join(out)


def costs(path):
    """benches/costs.py's lines as a table: what a message costs nml and raw NNG."""
    rows = {}
    for line in open(path):
        f = line.split()
        if len(f) == 7 and f[0] == "costs":
            rows.setdefault((f[2], f[3]), {})[f[1]] = f[4:]
    out = ["| transport | test | CPU, nml | CPU, raw | context switches, nml | context switches, raw "
           "| instructions, nml | instructions, raw |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for (transport, test), by in rows.items():
        nml, raw = by.get("nml", ["-"] * 3), by.get("raw", ["-"] * 3)
        out.append("| %s | %s | %s us | %s us | %s | %s | %s | %s |" % (
            transport, test, nml[0], raw[0], nml[1], raw[1], nml[2], raw[2]))
    return "\n".join(out)


def compare(path):
    """benches/compare_builds's lines: two builds' medians side by side."""
    import re
    import statistics
    figures = {}  # (test, unit) -> {label: [values]}
    for line in open(path):
        m = re.match(r"^(before|after)\s+(\S.*?)\s{2,}(pack|unpack)\s+(nml\S*)\s+(\d+) ops/s", line)
        if m:
            key = ("codec: %s, %s, %s" % (m.group(2), m.group(3), m.group(4)), "ops/s")
            figures.setdefault(key, {}).setdefault(m.group(1), []).append(float(m.group(5)))
            continue
        f = line.split()
        if len(f) == 6 and f[1] == "nml":
            key = ("%s %s" % (f[2], f[3]), f[5])
            figures.setdefault(key, {}).setdefault(f[0], []).append(float(f[4]))
    out = ["| test | before | after | after / before |", "|---|---:|---:|---:|"]
    for (test, unit), by in figures.items():
        if "before" not in by or "after" not in by:
            continue
        b, a = statistics.median(by["before"]), statistics.median(by["after"])
        out.append("| %s | %s %s | %s %s | %.0f%% |" % (test, f"{b:,.1f}", unit, f"{a:,.1f}",
                                                      unit, 100 * a / b))
    return "\n".join(out)


def shm_rows(path):
    """Rows 'shm <way> <bytes> <median µs> <p99 µs> <GB/s> sender <x> receiver <y>' from several
    rounds: {size: {way: the median of each figure over the rounds}}, the sizes in order, and
    the number of rounds."""
    runs, order = {}, []
    for line in open(path):
        parts = line.split()
        if len(parts) == 10 and parts[0] == "shm":
            way, size = parts[1], int(parts[2])
            if size not in runs:
                runs[size] = {}
                order.append(size)
            runs[size].setdefault(way, []).append(
                dict(median=float(parts[3]), p99=float(parts[4]), sender=float(parts[7]),
                     receiver=float(parts[9])))
    rows = {size: {way: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                   for way, rs in ways.items()} for size, ways in runs.items()}
    rounds = max(len(rs) for ways in runs.values() for rs in ways.values())
    return rows, order, rounds


def size_name(size):
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"


def shm(path):
    """The shared-buffer table: each way's latency side by side, shared against copy, and the
    memory each side adds."""
    rows, order, rounds = shm_rows(path)

    def lat(r):
        return f"{r['median']:,.0f} / {r['p99']:,.0f} µs" if r else "-"

    def mem(r):
        return f"{r['sender']:.1%} / {r['receiver']:.1%}" if r else "-"

    out = [f"*median of {rounds} rounds*", "",
           "| buffer | ipc, one copy | ipc, shared | raw NNG ipc (Rust) | copy / shared | "
           "memory added, one copy | memory added, shared | memory added, raw NNG |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for size in order:
        r = rows[size]
        c, s, w = r.get("copy"), r.get("shared"), r.get("raw")
        ratio = f"{c['median'] / s['median']:.0f}x" if c and s else "-"
        out.append(f"| {size_name(size)} | {lat(c)} | {lat(s)} | {lat(w)} | {ratio} | {mem(c)} | {mem(s)} | {mem(w)} |")
    return "\n".join(out)


# Copies of a frame's bytes per frame and consumer once the source has it in memory, by mode
# (examples/video/frames.lua): nml copying packs the frame into each message, and the kernel
# copies it into and out of the ipc socket; the old way base64-encodes it, JSON-encodes the
# line, writes and reads the pipe, then decodes both. The source's own copy into its pool
# (from ffmpeg's pipe) and the sink's into the encoder's pipe are the same in every mode.
VIDEO_COPIES = {"shared": "0", "copy": "3 (Python 5)", "json": "6"}


def video(directory):
    """The video pipeline's reports (<directory>/<mode>-<size>/report.json) as one table."""
    import json
    import os
    out = ["| mode | frames | frames/s | luma p50 / p99 | motion p50 / p99 | sink p50 / p99 | "
           "end to end p50 / p99 | copies per frame and consumer | CPU per frame: nml's processes / ffmpeg | "
           "peak RSS: source, luma, motion, sink |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in sorted(os.listdir(directory), key=lambda n: (int(n.split("-")[1].split("x")[0]), n)):
        path = os.path.join(directory, name, "report.json")
        if not os.path.exists(path):
            continue
        r = json.load(open(path))
        st = r["stages"]
        lat = {k: f"{v.get('p50', 0):,.1f} / {v.get('p99', 0):,.1f} ms" for k, v in r["latency_ms"].items()}
        ours = sum(st[k]["cpu"] for k in ("source", "luma", "motion", "sink"))
        ffmpeg = st["decoder"]["cpu"] + st["encoder"]["cpu"]
        rss = ", ".join(f"{st[k]['rss_kib'] / 1024:.0f}" for k in ("source", "luma", "motion", "sink"))
        mode = name.split("-")[0]
        paced = " (paced)" if name.endswith("-paced") else ""
        out.append(f"| {mode}, {r['width']}x{r['height']}{paced} | {r['frames']} | {r['fps']:.1f} | {lat['luma']} | "
                   f"{lat['motion']} | {lat['sink']} | {lat['end_to_end']} | {VIDEO_COPIES[mode]} | "
                   f"{ours / r['frames'] * 1000:.1f} / {ffmpeg / r['frames'] * 1000:.1f} ms | {rss} MiB |")
    return "\n".join(out)


if __name__ == "__main__":
    if sys.argv[1] == "--messaging":
        print(messaging(sys.argv[2]))
    elif sys.argv[1] == "--tls":
        print(tls(sys.argv[2]))
    elif sys.argv[1] == "--contexts":
        print(contexts(sys.argv[2]))
    elif sys.argv[1] == "--forward":
        print(forward(sys.argv[2]))
    elif sys.argv[1] == "--copies":
        print(copies(sys.argv[2]))
    elif sys.argv[1] == "--compare":
        print(compare(sys.argv[2]))
    elif sys.argv[1] == "--costs":
        print(costs(sys.argv[2]))
    elif sys.argv[1] == "--nginx":
        print(nginx(sys.argv[2]))
    elif sys.argv[1] == "--shm":
        print(shm(sys.argv[2]))
    elif sys.argv[1] == "--video":
        print(video(sys.argv[2]))
    elif sys.argv[1] == "--strings":
        print("\n\n".join(strings(p) for p in sys.argv[2:]))
    else:
        print("\n\n".join(table(p) for p in sys.argv[1:]))
