-- wrk script: each request asks for the next path of a file (one path per line), so one
-- run polls many different tasks. Usage: wrk -s bench/rotate.lua <base-url> -- <paths-file>
local paths = {}
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  next_index = math.random(#paths) -- each wrk thread starts elsewhere in the list
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path)
end
