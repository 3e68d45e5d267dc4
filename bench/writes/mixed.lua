-- 90% reads (half ticket shows through the API, half the agent's partner queue page with a session cookie) and
-- 10% ticket creates.
dofile(os.getenv("PD_BENCH_DIR") .. "/report.lua")
local token = os.getenv("PD_TOKEN")
local cookie = os.getenv("PD_COOKIE")
-- The ids of tickets that exist (PD_IDS, one per line): on PostgreSQL, creates cancelled when wrk stopped the
-- previous run used sequence values, so ids have holes.
local ids = {}
for line in io.lines(os.getenv("PD_IDS")) do ids[#ids + 1] = line end
local n = 0
request = function()
  local r = math.random(100)
  if r <= 10 then
    n = n + 1
    local body = '{"ticket":{"subject":"Mixed load ' .. n .. '","comment":{"body":"A ticket created under a mixed load."}}}'
    return wrk.format("POST", "/api/v2/tickets.json",
      { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
  elseif r <= 55 then
    return wrk.format("GET", "/api/v2/tickets/" .. ids[math.random(#ids)] .. ".json", { ["Authorization"] = "Bearer " .. token })
  else
    return wrk.format("GET", "/agent", { ["Cookie"] = cookie })
  end
end
