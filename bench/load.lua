-- wrk script of bench/load.py: many visitors polling their jobs. Each line of the polls file
-- is "<path> <session key>"; each request sends the next line's path with that visitor's
-- session cookie. Answers are counted by HTTP status and by the job state in the body, and
-- done() prints them with the latency percentiles as "name value" lines for load.py.
-- Threads start evenly spread over the lines, as in rotate.lua. With JOBTASTIC_LOAD_PAUSE_MS
-- set, a connection waits that long after each answer before it asks again (the widget's
-- poll interval); without it, connections ask again at once. Paced pollers all ask at once
-- first, then wait a random share of one pause, so that they spread out after that first
-- round (else they would all ask in the same instant, every time). Delaying the very first
-- request instead would leave connections open and silent, and gunicorn's gthread worker
-- gives such a connection a thread until it speaks, which is not what a browser does.
-- Usage: wrk -t <threads> -c <connections> -s bench/load.lua <base-url> -- <file> <threads>
--        <connections per thread>
local started = 0
local threads = {}

function setup(thread)
  thread:set("thread_number", started)
  started = started + 1
  threads[#threads + 1] = thread
end

local requests = {}
local next_index = 1
local connections = 0 -- of this thread
local delays = 0 -- delay() calls so far
-- Globals, so that done() can read them from every thread.
statuses = {}
states = {}

function init(args)
  for line in io.lines(args[1]) do
    local path, key = line:match("^(%S+) (%S+)$")
    requests[#requests + 1] = wrk.format("GET", path, { Cookie = "sessionid=" .. key })
  end
  next_index = math.floor(#requests * thread_number / tonumber(args[2])) + 1
  connections = tonumber(args[3])
  math.randomseed(thread_number + 1) -- LuaJIT's seed is the same in every thread
end

function request()
  local formatted = requests[next_index]
  next_index = next_index % #requests + 1
  return formatted
end

-- delay() is defined only when there is a pause: wrk then delays every request, the first
-- of each connection included.
local pause = tonumber(os.getenv("JOBTASTIC_LOAD_PAUSE_MS") or "")

if pause and pause > 0 then
  function delay()
    delays = delays + 1
    if delays <= connections then
      return 0 -- the first round
    elseif delays <= 2 * connections then
      return math.random(0, pause) -- spread out
    end
    return pause
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local state = body and body:match('"status": "(%u+)"')
  if state then
    states[state] = (states[state] or 0) + 1
  end
end

local function add(total, counts)
  for name, count in pairs(counts) do
    total[name] = (total[name] or 0) + count
  end
end

function done(summary, latency, requests)
  local all_statuses, all_states = {}, {}
  for _, thread in ipairs(threads) do
    add(all_statuses, thread:get("statuses"))
    add(all_states, thread:get("states"))
  end
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("duration_us %d\n", summary.duration))
  for name, count in pairs(summary.errors) do
    io.write(string.format("socket_%s %d\n", name, count))
  end
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("latency_p%s_us %d\n", tostring(p), latency:percentile(p)))
  end
  io.write(string.format("latency_max_us %d\n", latency.max))
  for status, count in pairs(all_statuses) do
    io.write(string.format("status_%d %d\n", status, count))
  end
  for state, count in pairs(all_states) do
    io.write(string.format("state_%s %d\n", state, count))
  end
end
