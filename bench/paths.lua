-- wrk script: each request takes the next path from a file (one path?query a line), so the
-- load walks many distinct recordings instead of hammering one hot key. Each thread starts at
-- its own random offset. done() prints one line of JSON that bench/wrk.py reads.
--
--   wrk -t1 -c32 -d5s -s bench/paths.lua http://127.0.0.1:8000 -- paths.txt

local paths = {}
local next_index = 1
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  if #paths == 0 then
    error("no paths in " .. args[1])
  end
  math.randomseed(1000 + id)
  next_index = math.random(#paths)
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format(nil, path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"latency_p50_us": %d, "latency_p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
