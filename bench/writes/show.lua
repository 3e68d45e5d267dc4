-- GET /api/v2/tickets/{id}.json for random existing tickets (PD_IDS).
dofile(os.getenv("PD_BENCH_DIR") .. "/report.lua")
local token = os.getenv("PD_TOKEN")
-- The ids of tickets that exist (PD_IDS, one per line): on PostgreSQL, creates cancelled when wrk stopped the
-- previous run used sequence values, so ids have holes.
local ids = {}
for line in io.lines(os.getenv("PD_IDS")) do ids[#ids + 1] = line end
request = function()
  return wrk.format("GET", "/api/v2/tickets/" .. ids[math.random(#ids)] .. ".json", { ["Authorization"] = "Bearer " .. token })
end
