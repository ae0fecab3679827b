-- wrk script: each request asks for the next path of a file (one path per line), so one
-- run polls many different tasks. The threads start evenly spread over the list (LuaJIT's
-- math.random starts from the same seed in every thread, so it would not spread them).
-- Usage: wrk -t <threads> -s bench/rotate.lua <base-url> -- <paths-file> <threads>
local started = 0

function setup(thread)
  thread:set("thread_number", started)
  started = started + 1
end

local paths = {}
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  local threads = tonumber(args[2])
  next_index = math.floor(#paths * thread_number / threads) + 1
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path)
end
