-- Replays prepared requests in order, each once (see requests.ts for the file
-- format), and prints a JSON summary line when done. Non-2xx answers are
-- counted by wrk itself (errors.status), which keeps Lua off the response path.
local requests = {}
local count = 0
local next_index = 0

local function split(text, separator)
  local parts = {}
  local start = 1
  while true do
    local at = string.find(text, separator, start, true)
    if not at then
      table.insert(parts, string.sub(text, start))
      return parts
    end
    table.insert(parts, string.sub(text, start, at - 1))
    start = at + 1
  end
end

init = function(args)
  for line in io.lines(args[1]) do
    local fields = split(line, "\30")
    local headers = {}
    for _, header in ipairs(split(fields[2], "\31")) do
      local name, value = string.match(header, "^([^:]+): (.*)$")
      if name then headers[name] = value end
    end
    count = count + 1
    requests[count] = wrk.format("POST", fields[1], headers, fields[3])
  end
end

request = function()
  next_index = next_index + 1
  if next_index > count then next_index = 1 end
  return requests[next_index]
end

done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,' ..
    '"timeouts":%d,"non2xx":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
