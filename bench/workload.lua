-- wrk script: the workload of bench/workload.py, each request a uniformly random entry of N.
-- Entry i: i % 10 == 0 is POST /api/search with its JSON body, else GET /api/items/i?page=i%7.
-- Arguments after `--`: N, then an optional prefix for absolute-form targets as an HTTP_PROXY
-- client sends them (http://api.bench.local) and the Host header that goes with it, then an
-- optional mode: "fallback" sends what was never recorded on the same routes (bench/unrecorded.py):
-- i % 10 == 0 is POST /api/search with q "new-i", else GET /api/items/(N+i)?page=i%7.
-- Every answer that is not 200 is counted; done() prints one line of JSON for bench/wrk.py.
--
--   wrk -t1 -c32 -d15s -s bench/workload.lua http://127.0.0.1:8000 -- 1000
--   wrk -t1 -c32 -d15s -s bench/workload.lua http://127.0.0.1:8080 -- 1000 http://api.bench.local api.bench.local

local threads = {}
local size = 0
local prefix = ""
local host = nil
local fallback = false
-- globals, so that done() can read them from each thread with thread:get
not_ok = 0
first_bad = ""

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  size = tonumber(args[1])
  if size == nil or size < 1 then
    error("the first argument must be the number of entries, got " .. tostring(args[1]))
  end
  prefix = args[2] or ""
  if args[3] and args[3] ~= "" then
    host = args[3]
  end
  if args[4] and args[4] ~= "" then
    if args[4] ~= "fallback" then
      error("the fourth argument must be empty or fallback, got " .. args[4])
    end
    fallback = true
  end
  math.randomseed(os.time() * 1000 + id)
end

local get_headers = {}
local post_headers = {["Content-Type"] = "application/json"}

function request()
  local i = math.random(0, size - 1)
  if host then
    get_headers["Host"] = host
    post_headers["Host"] = host
  end
  local word, item = "item", i
  if fallback then
    word, item = "new", size + i
  end
  if i % 10 == 0 then
    local body = string.format(
      '{"q":"%s-%d","page":%d,"filters":{"in_stock":true,"min_price":%d}}', word, i, i % 7, i % 100)
    return wrk.format("POST", prefix .. "/api/search", post_headers, body)
  end
  return wrk.format("GET", string.format("%s/api/items/%d?page=%d", prefix, item, i % 7), get_headers)
end

function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local bad = 0
  local sample = ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("not_ok")
    if sample == "" then
      sample = thread:get("first_bad")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "not_ok": %d, "socket_errors": %d, ' ..
    '"latency_p50_us": %d, "latency_p99_us": %d, "first_bad": %s}\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), json_string(sample)))
end
