"""Pictures for docs/performance.md, drawn from the benches' own figures (matplotlib, in the
venv `make bench` makes).

    python3 benches/plots.py shm build/bench-shm.txt docs/images/shm-latency.png
"""
import sys

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402

from to_markdown import shm_rows, size_name  # noqa: E402

WAYS = [("shared", "nml, shared buffer", "tab:green"), ("copy", "nml, one copy", "tab:blue"),
        ("raw", "raw NNG (Rust), copying", "tab:gray")]


def shm_latency(figures, png):
    """One-way latency against buffer size, median and p99, for each way, on log scales."""
    rows, sizes, rounds = shm_rows(figures)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for way, label, color in WAYS:
        have = [s for s in sizes if way in rows[s]]
        if not have:
            continue
        ax.plot(have, [rows[s][way]["median"] for s in have], "o-", color=color, label=f"{label}, median")
        ax.plot(have, [rows[s][way]["p99"] for s in have], ":", color=color, label=f"{label}, p99")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([size_name(s) for s in sizes], rotation=30)
    ax.set_xlabel("buffer in the table")
    ax.set_ylabel("one-way latency, µs")
    ax.set_title(f"A table holding one buffer, between two processes over ipc (median of {rounds} rounds)",
                 fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png)


if __name__ == "__main__":
    if sys.argv[1] == "shm":
        shm_latency(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"plots.py: no picture named {sys.argv[1]}")
