-- GET /api/v2/tickets/{id}.json for random existing tickets (PD_MAX_ID).
dofile(os.getenv("PD_BENCH_DIR") .. "/report.lua")
local token = os.getenv("PD_TOKEN")
local max_id = tonumber(os.getenv("PD_MAX_ID"))
request = function()
  return wrk.format("GET", "/api/v2/tickets/" .. math.random(max_id) .. ".json", { ["Authorization"] = "Bearer " .. token })
end
