-- wrk script for `make soak` (tools/soak/run.sh): a weighted mix of good and bad requests against the demo model
-- `chars` on one Peephole server, with sessions opened, stepped and closed.
--
-- Request kinds (weights in parentheses, out of 100; each kind's expected answer in brackets):
--   predict     (38) POST /predict, text batch 1, text batch 4 or one-hot `inputs` (15 KB)      [200 outputs]
--   layers      (20) POST /layers/lstm/output with gates, sequences, units and states          [200 gates]
--   session ops (27) open POST /sessions [201 {"session"}], step POST /sessions/{id}/step
--                    {"text": ["free "]} [200 {"session": id, "step"}] SOAK_STEPS times, then DELETE
--                    /sessions/{id} [200 {"deleted": true}]; a 429 too_many_sessions on open is its own class
--   bad_json     (3) POST /models/chars/predict, truncated JSON                                [400 malformed JSON]
--   bad_width    (3) POST /models/chars/versions/1/predict, 75 values per step instead of 76   [400 axis 2 ... 76]
--   bad_layer    (3) POST /models/chars/layers/nope/output                                    [404 unknown_layer]
--   bad_method   (3) GET /predict                                                              [405 method_not_allowed]
--   bad_ctype    (3) POST /models/chars/versions/1/layers/lstm/output, text/plain             [415 unsupported_media_type]
-- Every kind has its own (route, method, status) on the server, so run.sh can check the server's own
-- /metrics counts kind by kind; here each answer is matched against the signature of the kind that expects it.
-- A 503 queue_full (any inference route) is counted as expected backpressure, separately.
--
-- wrk cannot tell which request an answer belongs to (connections share one Lua state per thread), so sessions
-- are tracked by the id every session answer carries: a session is either idle (in `idle`), busy (one request in
-- flight: step or delete) or being opened; no session ever has two requests in flight, so a step can never race
-- its own delete. Each thread keeps at most SOAK_SESSIONS_PER_THREAD sessions open (max_sessions is 256).
-- wrk calls request() again when the first write of a request would block, so `sent` can count a request that
-- never went out (run.sh compares with the server's counts); a session whose step or delete was replaced that way
-- stays busy here and is deleted by run.sh at the end.
--
-- At the end `done()` prints one line `SOAK_JSON {...}` (per-kind sent/answered counts, classes, wrk errors,
-- latency in microseconds) and writes the ids of sessions still open to $SOAK_LEFTOVER, for run.sh to delete.

local STEPS = tonumber(os.getenv("SOAK_STEPS") or "3")
local CAP = tonumber(os.getenv("SOAK_SESSIONS_PER_THREAD") or "48")
local LEFTOVER = os.getenv("SOAK_LEFTOVER") or ""

local KINDS = { "predict", "layers", "session_open", "session_step", "session_delete",
                "bad_json", "bad_width", "bad_layer", "bad_method", "bad_ctype" }

-- ------------------------------------------------------------------ request bodies
local VOCAB = "\n \"'(),-./0123456789:;<>ABCDEFGHIJKLMNOPQRSTUVWXY`abcdefghijklmnopqrstuvwxyz"
assert(#VOCAB == 76, "vocabulary must have 76 characters")
local TEXTS = {
  "the quick brown fox jumps over the lazy ",
  "It was the best of times, it was the wor",
  "Call me Ishmael. Some years ago - never ",
  "(1) 2/3 of \"all\" models: 'LSTM' `gates`;",
}
for _, t in ipairs(TEXTS) do assert(#t == 40, "texts are 40 characters") end

local function json_text(s)  -- a JSON string for a vocabulary-only text
  return '"' .. s:gsub('\\', '\\\\'):gsub('"', '\\"'):gsub('\n', '\\n') .. '"'
end

local function onehot(text, width)  -- {"inputs": [[[...76 or `width` values...] x 40]]}
  local steps = {}
  for i = 1, #text do
    local k = VOCAB:find(text:sub(i, i), 1, true)
    local row = {}
    for j = 1, width do row[j] = (j == k) and "1" or "0" end
    steps[i] = "[" .. table.concat(row, ",") .. "]"
  end
  return '{"inputs": [[' .. table.concat(steps, ",") .. ']]}'
end

local JSON = { ["Content-Type"] = "application/json" }
local PLAIN = { ["Content-Type"] = "text/plain" }

local function text_body(list, extra)
  local parts = {}
  for i, t in ipairs(list) do parts[i] = json_text(t) end
  return '{"text": [' .. table.concat(parts, ", ") .. ']' .. (extra or "") .. '}'
end

local GATES = ', "gates": true, "sequences": true, "units": [0,1,2,3], "states": true'
local STEP_BODY = '{"text": ["free "]}'

-- Static requests (built once per thread in init()).
local R = {}

function setup(thread)
  threads = threads or {}
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
  R.predict = {
    wrk.format("POST", "/predict", JSON, text_body({ TEXTS[1] })),
    wrk.format("POST", "/predict", JSON, text_body({ TEXTS[2] })),
    wrk.format("POST", "/predict", JSON, text_body(TEXTS)),
    wrk.format("POST", "/predict", JSON, onehot(TEXTS[3], 76)),
  }
  R.layers = {
    wrk.format("POST", "/layers/lstm/output", JSON, text_body({ TEXTS[1] }, GATES)),
    wrk.format("POST", "/layers/lstm/output", JSON, text_body({ TEXTS[4] }, GATES)),
  }
  R.session_open = wrk.format("POST", "/sessions", JSON, "")
  R.bad_json = wrk.format("POST", "/models/chars/predict", JSON, '{"text": ["the quick brown')
  R.bad_width = wrk.format("POST", "/models/chars/versions/1/predict", JSON, onehot(TEXTS[2], 75))
  R.bad_layer = wrk.format("POST", "/models/chars/layers/nope/output", JSON, text_body({ TEXTS[1] }))
  R.bad_method = wrk.format("GET", "/predict", nil, nil)
  R.bad_ctype = wrk.format("POST", "/models/chars/versions/1/layers/lstm/output", PLAIN, text_body({ TEXTS[1] }))

  sent, got = {}, {}
  for _, k in ipairs(KINDS) do sent[k] = 0; got[k] = 0 end
  classes = { session_429 = 0, queue_full = 0, unexpected = 0, fallback = 0 }
  examples = {}          -- a few unexpected answers: "status body-prefix"
  idle = {}              -- session ids with nothing in flight, oldest first: idle[idle_head .. idle_tail]
  idle_head, idle_tail = 1, 0
  steps = {}             -- id -> steps done
  busy = {}              -- id -> true while a step or delete is in flight
  busy_n, opening = 0, 0
end

-- ------------------------------------------------------------------ the mix
local function pick(list) return list[math.random(#list)] end

local function idle_count() return idle_tail - idle_head + 1 end

local function push_idle(id)  -- (not #idle: the popped slots are nil, so the length operator is unreliable)
  idle_tail = idle_tail + 1
  idle[idle_tail] = id
end

local function pop_idle()
  local id = idle[idle_head]
  idle[idle_head] = nil
  idle_head = idle_head + 1
  return id
end

local function session_request()
  local live = idle_count() + busy_n + opening
  if idle_count() > 0 and (live >= CAP or math.random() < 0.8) then
    local id = pop_idle()
    busy[id] = true
    busy_n = busy_n + 1
    if steps[id] >= STEPS then
      sent.session_delete = sent.session_delete + 1
      return wrk.format("DELETE", "/sessions/" .. id, nil, nil)
    end
    sent.session_step = sent.session_step + 1
    return wrk.format("POST", "/sessions/" .. id .. "/step", JSON, STEP_BODY)
  end
  if live < CAP then
    opening = opening + 1
    sent.session_open = sent.session_open + 1
    return R.session_open
  end
  return nil  -- every session busy: send something else
end

function request()
  local r = math.random(100)
  if r <= 38 then
    sent.predict = sent.predict + 1
    return pick(R.predict)
  elseif r <= 58 then
    sent.layers = sent.layers + 1
    return pick(R.layers)
  elseif r <= 85 then
    local req = session_request()
    if req then return req end
    classes.fallback = classes.fallback + 1
    sent.predict = sent.predict + 1
    return R.predict[1]
  end
  local k = (r <= 88 and "bad_json") or (r <= 91 and "bad_width") or (r <= 94 and "bad_layer")
    or (r <= 97 and "bad_method") or "bad_ctype"
  sent[k] = sent[k] + 1
  return R[k]
end

-- ------------------------------------------------------------------ answers
local function has(body, s) return body:find(s, 1, true) ~= nil end

local function unexpected(status, body)
  classes.unexpected = classes.unexpected + 1
  if #examples < 5 then
    examples[#examples + 1] = tostring(status) .. " " .. body:sub(1, 160)
  end
end

function response(status, headers, body)
  if status == 200 then
    local sid = body:match('^{"session":"([%w%-]+)"')
    if sid and busy[sid] then
      busy[sid] = nil
      busy_n = busy_n - 1
      if has(body, '"deleted":true') then
        got.session_delete = got.session_delete + 1
        steps[sid] = nil
        return
      elseif has(body, '"step":') and has(body, '"outputs"') then
        got.session_step = got.session_step + 1
        steps[sid] = steps[sid] + 1
        push_idle(sid)
        return
      end
      return unexpected(status, body)
    elseif has(body, '"layer":"lstm"') and has(body, '"gates":{') then
      got.layers = got.layers + 1
      return
    elseif body:find('^{"model":"chars","version":1,"outputs":%[%[') then
      got.predict = got.predict + 1
      return
    end
  elseif status == 201 then
    local sid = body:match('^{"session":"([%w%-]+)"')
    if sid and opening > 0 then
      opening = opening - 1
      got.session_open = got.session_open + 1
      steps[sid] = 0
      push_idle(sid)
      return
    end
  elseif status == 400 then
    if has(body, "malformed JSON") then got.bad_json = got.bad_json + 1; return end
    if has(body, "axis 2 must have 76 values") then got.bad_width = got.bad_width + 1; return end
  elseif status == 404 then
    if has(body, '"unknown_layer"') and has(body, "'nope'") then got.bad_layer = got.bad_layer + 1; return end
  elseif status == 405 then
    if has(body, '"method_not_allowed"') then got.bad_method = got.bad_method + 1; return end
  elseif status == 415 then
    if has(body, '"unsupported_media_type"') then got.bad_ctype = got.bad_ctype + 1; return end
  elseif status == 429 then
    if has(body, '"too_many_sessions"') and opening > 0 then
      opening = opening - 1
      classes.session_429 = classes.session_429 + 1
      return
    end
  elseif status == 503 then
    -- Expected backpressure. Which request it answered is unknown; a refused step leaves its session busy
    -- (it is listed in $SOAK_LEFTOVER and deleted by run.sh).
    if has(body, '"queue_full"') then classes.queue_full = classes.queue_full + 1; return end
  end
  unexpected(status, body)
end

-- ------------------------------------------------------------------ the report
local function jstr(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

local function jobj(t, keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = jstr(k) .. ":" .. string.format("%d", t[k] or 0) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local S, G = {}, {}
  local C = { session_429 = 0, queue_full = 0, unexpected = 0, fallback = 0 }
  for _, k in ipairs(KINDS) do S[k] = 0; G[k] = 0 end
  local ex, left = {}, {}
  local opening_total = 0
  for _, t in ipairs(threads) do
    local s, g, c = t:get("sent"), t:get("got"), t:get("classes")
    for _, k in ipairs(KINDS) do S[k] = S[k] + (s[k] or 0); G[k] = G[k] + (g[k] or 0) end
    for k, v in pairs(c) do C[k] = (C[k] or 0) + v end
    for _, e in ipairs(t:get("examples")) do ex[#ex + 1] = jstr(e) end
    local i, h = t:get("idle"), t:get("idle_head")
    for j, id in pairs(i) do if j >= h then left[#left + 1] = id end end
    for id, _ in pairs(t:get("busy")) do left[#left + 1] = id end
    opening_total = opening_total + (t:get("opening") or 0)
  end
  if LEFTOVER ~= "" then
    local f = assert(io.open(LEFTOVER, "w"))
    for _, id in ipairs(left) do f:write(id, "\n") end
    f:close()
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status_gt_399":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"mean":%.1f,"max":%d},'
      .. '"sent":%s,"answered":%s,"classes":%s,"sessions_left_open":%d,"opens_in_flight":%d,"examples":[%s]}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max,
    jobj(S, KINDS), jobj(G, KINDS), jobj(C, { "session_429", "queue_full", "unexpected", "fallback" }),
    #left, opening_total, table.concat(ex, ",")))
end
