-- wrk script for `make soak` (tools/soak/run.sh): a weighted mix of good and bad requests against the demo model
-- `chars` (the default) and the graph model `two_heads` on one Peephole server, over the Peephole API, KServe V2
-- with binary tensors, TF Serving REST and the inspector's API, with sessions opened, stepped and closed.
--
-- Request kinds (weights in parentheses, per mille; each kind's expected answer in brackets). The inspector's
-- unit statistics cost about 10 ms each (the rest well under 1 ms), so they are a small share:
--   predict    (240) POST /predict, text batch 1, text batch 4 or one-hot `inputs` (15 KB)      [200 outputs]
--   layers     (120) POST /layers/lstm/output with gates, sequences, units and states          [200 gates]
--   sessions   (220) open POST /sessions [201 {"session"}], step POST /sessions/{id}/step
--                    {"text": ["free "]} [200 {"session": id, "step"}] SOAK_STEPS times, then DELETE
--                    /sessions/{id} [200 {"deleted": true}]; a 429 too_many_sessions on open is its own class
--   v2_infer   (100) POST /v2/models/chars/infer, binary tensors: FP32 one-hot [1, 40, 76] (12 KB) or BYTES text,
--                    Inference-Header-Content-Length, binary output                 [200 JSON header + 304 bytes]
--   tfs_predict (80) POST /v1/models/chars:predict {"instances": [text, ...]}                   [200 predictions]
--   graph       (90) POST /models/two_heads/predict, named inputs sequence and side            [200 outputs cls, reg]
--   insp_unit    (5) GET /models/chars/layers/lstm/units/{0..63}                               [200 unit statistics]
--   insp_match   (5) POST /models/chars/layers/lstm/match, units or a text span               [200 matches]
--   insp_corpus (10) GET /models/chars/corpus                                                  [200 texts]
--   bad_json    (20) POST /models/chars/predict, truncated JSON                                [400 malformed JSON]
--   bad_width   (20) POST /models/chars/versions/1/predict, 75 values per step instead of 76   [400 axis 2 ... 76]
--   bad_layer   (20) POST /models/chars/layers/nope/output                                    [404 unknown_layer]
--   bad_method  (20) GET /predict                                                              [405 method_not_allowed]
--   bad_ctype   (20) POST /models/chars/versions/1/layers/lstm/output, text/plain             [415 unsupported_media_type]
--   bad_v2      (15) POST /v2/models/chars/versions/1/infer, header length past the body      [400 {"error": "..."}]
--   bad_tfs     (15) POST /v1/models/chars/versions/1:predict, signature_name "predict"       [400 {"error": "..."}]
-- Every kind has its own (route, method, status) on the server, so run.sh can check the server's own
-- /metrics counts kind by kind; here each answer is matched against the signature of the kind that expects it.
-- A 503 queue_full (any inference route; the V2 and TF Serving routes say it in {"error": "<message>"}) is counted
-- as expected backpressure, separately.
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
                "v2_infer", "tfs_predict", "graph", "insp_unit", "insp_match", "insp_corpus",
                "bad_json", "bad_width", "bad_layer", "bad_method", "bad_ctype", "bad_v2", "bad_tfs" }

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

-- KServe V2 with binary tensors: a JSON header, then the input's bytes (little-endian), its length in
-- Inference-Header-Content-Length; the output comes back binary too (76 float32: 304 bytes).
local function le32(n)  -- a 4-byte little-endian unsigned integer
  return string.char(n % 256, math.floor(n / 256) % 256, math.floor(n / 65536) % 256, math.floor(n / 16777216) % 256)
end

local FLOAT_ONE, FLOAT_ZERO = le32(0x3F800000), le32(0)  -- float32 1.0 and 0.0

local function v2_request(path, datatype, shape, binary, header_length)
  local header = '{"inputs":[{"name":"input","shape":' .. shape .. ',"datatype":"' .. datatype
    .. '","parameters":{"binary_data_size":' .. #binary .. '}}],"parameters":{"binary_data_output":true}}'
  return wrk.format("POST", path, { ["Inference-Header-Content-Length"] = tostring(header_length or #header) },
    header .. binary)
end

local function v2_onehot(text)  -- the one-hot [1, 40, 76] FP32 bytes of a text
  local parts = {}
  for i = 1, #text do
    local k = VOCAB:find(text:sub(i, i), 1, true)
    for j = 1, 76 do parts[#parts + 1] = (j == k) and FLOAT_ONE or FLOAT_ZERO end
  end
  return table.concat(parts)
end

-- two_heads: inputs sequence (6 steps of 4) and side (5), outputs cls (3) and reg (1).
local function graph_body(batch)
  local seq, side = {}, {}
  for b = 1, batch do
    local steps = {}
    for t = 1, 6 do steps[t] = string.format("[%.2f,%.2f,%.2f,%.2f]", 0.1 * t, -0.2 * b, 0.05 * t * b, 0.3) end
    seq[b] = "[" .. table.concat(steps, ",") .. "]"
    side[b] = string.format("[%.1f,%.1f,%.1f,%.1f,%.1f]", b, -b, 0.5, 0.25 * b, 1)
  end
  return '{"inputs": {"sequence": [' .. table.concat(seq, ",") .. '], "side": [' .. table.concat(side, ",") .. ']}}'
end

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
  R.v2_infer = {
    v2_request("/v2/models/chars/infer", "FP32", "[1,40,76]", v2_onehot(TEXTS[1])),
    v2_request("/v2/models/chars/infer", "FP32", "[1,40,76]", v2_onehot(TEXTS[4])),
    v2_request("/v2/models/chars/infer", "BYTES", "[1]", le32(40) .. TEXTS[2]),
    v2_request("/v2/models/chars/infer", "BYTES", "[1,1]", le32(40) .. TEXTS[3]),
  }
  R.tfs_predict = {
    wrk.format("POST", "/v1/models/chars:predict", JSON, '{"instances": [' .. json_text(TEXTS[1]) .. ']}'),
    wrk.format("POST", "/v1/models/chars:predict", JSON,
      '{"signature_name": "serving_default", "instances": [' .. json_text(TEXTS[2]) .. ', ' .. json_text(TEXTS[4]) .. ']}'),
  }
  R.graph = {
    wrk.format("POST", "/models/two_heads/predict", JSON, graph_body(1)),
    wrk.format("POST", "/models/two_heads/predict", JSON, graph_body(4)),
  }
  R.insp_match = {
    wrk.format("POST", "/models/chars/layers/lstm/match", JSON, '{"units": [3, 7], "threshold": 0.3, "limit": 5}'),
    wrk.format("POST", "/models/chars/layers/lstm/match", JSON,
      '{"text": "the quick brown fox", "span": {"from": 4, "to": 9}, "limit": 5}'),
  }
  R.insp_corpus = wrk.format("GET", "/models/chars/corpus", nil, nil)
  R.bad_v2 = v2_request("/v2/models/chars/versions/1/infer", "FP32", "[1,40,76]", v2_onehot(TEXTS[1]), 100000)
  R.bad_tfs = wrk.format("POST", "/v1/models/chars/versions/1:predict", JSON,
    '{"signature_name": "predict", "instances": [' .. json_text(TEXTS[1]) .. ']}')
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

-- The kinds after predict, layers and sessions, with the upper end of their share of math.random(1000).
local OTHERS = { { 680, "v2_infer" }, { 760, "tfs_predict" }, { 850, "graph" }, { 855, "insp_unit" },
                 { 860, "insp_match" }, { 870, "insp_corpus" }, { 890, "bad_json" }, { 910, "bad_width" },
                 { 930, "bad_layer" }, { 950, "bad_method" }, { 970, "bad_ctype" }, { 985, "bad_v2" },
                 { 1000, "bad_tfs" } }

function request()
  local r = math.random(1000)
  if r <= 240 then
    sent.predict = sent.predict + 1
    return pick(R.predict)
  elseif r <= 360 then
    sent.layers = sent.layers + 1
    return pick(R.layers)
  elseif r <= 580 then
    local req = session_request()
    if req then return req end
    classes.fallback = classes.fallback + 1
    sent.predict = sent.predict + 1
    return R.predict[1]
  end
  for _, o in ipairs(OTHERS) do
    if r <= o[1] then
      local k = o[2]
      sent[k] = sent[k] + 1
      if k == "insp_unit" then return wrk.format("GET", "/models/chars/layers/lstm/units/" .. math.random(0, 63), nil, nil) end
      local req = R[k]
      if type(req) == "table" then return pick(req) end
      return req
    end
  end
end

-- ------------------------------------------------------------------ answers
local function has(body, s) return body:find(s, 1, true) ~= nil end

local function header(headers, name)  -- a response header, whatever the case of its name
  name = name:lower()
  for k, v in pairs(headers) do if k:lower() == name then return v end end
  return nil
end

-- A V2 answer with a binary output: the JSON header (its length in Inference-Header-Content-Length), then the 76
-- float32 of `dense`.
local function v2_answer(headers, body)
  local length = tonumber(header(headers, "Inference-Header-Content-Length") or "")
  return length ~= nil and #body == length + 304
    and body:find('^{"model_name":"chars","model_version":"1","outputs":%[{"name":"dense","datatype":"FP32","shape":%[1,76%],"parameters":{"binary_data_size":304}}%]}') ~= nil
end

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
    elseif v2_answer(headers, body) then
      got.v2_infer = got.v2_infer + 1
      return
    elseif body:find('^{"predictions":%[%[') then
      got.tfs_predict = got.tfs_predict + 1
      return
    elseif body:find('^{"model":"two_heads","version":1,"outputs":{"cls":%[%[') and has(body, '"reg":[[') then
      got.graph = got.graph + 1
      return
    elseif body:find('^{"model":"chars","version":1,"layer":"lstm","unit":%d+,') and has(body, '"histogram":{') then
      got.insp_unit = got.insp_unit + 1
      return
    elseif body:find('^{"model":"chars","version":1,"layer":"lstm","field":"h",') and has(body, '"matches":[') then
      got.insp_match = got.insp_match + 1
      return
    elseif body:find('^{"model":"chars","texts":%[{"name":"chars.corpus.txt"') then
      got.insp_corpus = got.insp_corpus + 1
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
    if has(body, '{"error":"Inference-Header-Content-Length: 100000 exceeds the body') then
      got.bad_v2 = got.bad_v2 + 1; return
    end
    if has(body, '{"error":"signature_name: serving signature name \\"predict\\" not found') then
      got.bad_tfs = got.bad_tfs + 1; return
    end
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
    if has(body, '"queue_full"') or has(body, "requests in flight, the configured maximum") then
      classes.queue_full = classes.queue_full + 1; return
    end
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
