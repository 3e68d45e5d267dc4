-- POST /api/v2/tickets.json: one new ticket with its first comment per request (PD_TOKEN: an admin's API token).
dofile(os.getenv("PD_BENCH_DIR") .. "/report.lua")
local token = os.getenv("PD_TOKEN")
local n = 0
request = function()
  n = n + 1
  local body = '{"ticket":{"subject":"Sync stops after 10k records (' .. n .. ')","priority":"high",'
    .. '"comment":{"body":"Since 4.2 the connector stops after 10,000 records. Logs are attached to the case."}}}'
  return wrk.format("POST", "/api/v2/tickets.json",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
