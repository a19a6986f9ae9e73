-- wrk's script for the nginx bench: POSTs a small JSON request, and prints one line at the end
-- for benches/to_markdown.py: "nginx <way> <connections> <requests/s> <p50 us> <p99 us> <errors>".
-- The way and the connection count come in the environment (NGINX_WAY, NGINX_CONNECTIONS).
wrk.method = "POST"
wrk.body = '{"op": "sum", "values": [1, 2, 3, 4.5], "id": 12345, "note": "a small request"}'
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency)
  local errors = summary.errors
  local failed = errors.connect + errors.read + errors.write + errors.status + errors.timeout
  io.write(string.format("nginx %s %s %.1f %.1f %.1f %d\n", os.getenv("NGINX_WAY"),
    os.getenv("NGINX_CONNECTIONS"), summary.requests / summary.duration * 1e6,
    latency:percentile(50), latency:percentile(99), failed))
end
