-- wrk script for the HTTP benchmark: POST the body in $WRK_BODY (one JSON request) to the URL wrk was given,
-- and at the end print one machine-readable line with exact figures (latencies in microseconds):
--   WRK_JSON {"requests":..,"duration_us":..,"bytes":..,"connect_errors":..,"read_errors":..,
--             "write_errors":..,"status_errors":..,"timeouts":..,"latency_us":{"p50":..,"p90":..,"p99":..,"mean":..,"max":..}}
-- (status_errors counts non-2xx/3xx answers.) No response() callback: it would slow wrk down.
local path = os.getenv("WRK_BODY")
if path == nil or path == "" then
  error("set WRK_BODY to the request body file")
end
local file = assert(io.open(path, "rb"))
local body = file:read("*a")
file:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,'
      .. '"write_errors":%d,"status_errors":%d,"timeouts":%d,'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.2f,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
