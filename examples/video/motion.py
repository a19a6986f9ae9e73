"""The Python stage of the video pipeline: a motion score per frame (the mean absolute change of
luma since the previous frame, on a quarter-resolution grid), with numpy, on the frame's own
memory when it comes as a shared buffer.

    python3 motion.py MODE FRAMES_URL RESULTS_URL READY_URL WIDTH HEIGHT CHECK

MODE is shared, copy or json (see frames.lua). With CHECK = 1, each frame's MD5 goes to the
sink too, for the spec to compare with ffmpeg's own.
"""
import base64
import hashlib
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.join(HERE, "..", "..", "python")
if os.path.isdir(CHECKOUT):  # nml_peer from this checkout, when run from it
    sys.path.insert(0, CHECKOUT)

import numpy  # noqa: E402
import pynng  # noqa: E402

import nml_peer  # noqa: E402
from nml_peer import shared  # noqa: E402


def source_alive():
    """Whether the source that started this stage still runs (NML_VIDEO_SOURCE, its pid)."""
    stop = os.environ.get("NML_VIDEO_STOP")
    if stop and os.path.exists(stop):
        return False
    pid = os.environ.get("NML_VIDEO_SOURCE")
    return pid is None or os.path.exists(f"/proc/{pid}")


def nml_frames(mode, pull):
    """Each frame's table, its "frame" the frame's memory (a SharedView, or bytes when copied)."""
    while True:
        try:
            msg = pull.recv_msg()
        except pynng.Timeout:
            if not source_alive():
                sys.exit("motion: the source is gone")
            continue
        t = nml_peer.unwrap(msg.bytes).value
        if mode == "shared":
            t = shared.open_buffers(t, shared.peer_pid(msg))
        if "frame" in t:
            t["frame"] = t["frame"]["buffer"]
        yield t
        if t.get("done"):
            pull.close()
            return


def json_frames():
    """The old way: a line of JSON per frame on stdin, the frame in base64."""
    for line in sys.stdin:
        t = json.loads(line)
        if "frame" in t:
            t["frame"] = base64.b64decode(t["frame"])
        yield t
        if t.get("done"):
            return


def luma(frame, width, height):
    data = frame.array() if isinstance(frame, shared.SharedView) else numpy.frombuffer(frame, numpy.uint8)
    return data[:width * height].reshape(height, width)


def probe(y):
    """A few bytes from three places, to tell whether the frame changed while it was read."""
    return bytes(y[0, :64]) + bytes(y[y.shape[0] // 2, :64]) + bytes(y[-1, -64:])


def main():
    mode, frames_url, results_url, ready_url = sys.argv[1:5]
    width, height, check = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7] == "1"
    results = pynng.Push0(dial=results_url, send_timeout=60000)
    if mode == "json":
        source = json_frames()
    else:
        frame_bytes = width * height * 3 // 2
        pull = pynng.Pull0(dial=frames_url, recv_timeout=1000, recv_max_size=frame_bytes + (1 << 20))
        source = nml_frames(mode, pull)
    with pynng.Push0(dial=ready_url, send_timeout=60000) as ready:  # frames may come now
        ready.send(nml_peer.wrap({"name": "motion", "pid": os.getpid()}))
        time.sleep(0.05)  # NNG writes it before the socket goes
    previous, expected, out_of_order, changed, cpu_start = None, 1, 0, 0, None
    for t in source:
        if t.get("done"):
            break
        cpu_start = cpu_start if cpu_start is not None else time.process_time()
        received = time.time()
        out_of_order += t["seq"] != expected
        expected = t["seq"] + 1
        y = luma(t["frame"], width, height)
        before = probe(y)
        grid = y[::4, ::4].astype(numpy.int16)
        score = 0.0 if previous is None else float(numpy.abs(grid - previous).mean())
        previous = grid
        result = {"stage": "motion", "seq": t["seq"], "t0": t["t0"], "received": received,
                  "motion": score}
        if check:
            frame = t["frame"]
            result["md5"] = hashlib.md5(frame.data if isinstance(frame, shared.SharedView) else frame).hexdigest()
        changed += probe(y) != before
        del y
        if isinstance(t["frame"], shared.SharedView):
            t["frame"].release()  # back to the source's pool
        result["done"] = time.time()
        results.send(nml_peer.wrap(result))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = time.process_time()
    results.send(nml_peer.wrap({"stage": "motion", "finished": True, "out_of_order": out_of_order,
                                "changed": changed, "cpu": cpu - (cpu_start or cpu),
                                "rss_kib": usage.ru_maxrss}))
    time.sleep(0.1)  # NNG writes what it holds before the process goes
    results.close()


if __name__ == "__main__":
    main()
