-- wrk script for the HTTP benchmark: POST the body in $WRK_BODY (one request, JSON unless $WRK_HEADERS says
-- otherwise) to the URL wrk was given, with the headers in the file $WRK_HEADERS if set (one "Name: value" a
-- line, e.g. a V2 binary request's Inference-Header-Content-Length), or GET it when WRK_METHOD=GET (no body);
-- at the end print one machine-readable line with exact figures (latencies in microseconds):
--   WRK_JSON {"requests":..,"duration_us":..,"bytes":..,"connect_errors":..,"read_errors":..,
--             "write_errors":..,"status_errors":..,"timeouts":..,"latency_us":{"p50":..,"p90":..,"p99":..,"mean":..,"max":..}}
-- (status_errors counts non-2xx/3xx answers.) No response() callback: it would slow wrk down.
if os.getenv("WRK_METHOD") == "GET" then
  wrk.method = "GET"
else
  local path = os.getenv("WRK_BODY")
  if path == nil or path == "" then
    error("set WRK_BODY to the request body file")
  end
  local file = assert(io.open(path, "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = "application/json"
end
local headers = os.getenv("WRK_HEADERS")
if headers ~= nil and headers ~= "" then
  for line in io.lines(headers) do
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then wrk.headers[name] = value end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,'
      .. '"write_errors":%d,"status_errors":%d,"timeouts":%d,'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.2f,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
