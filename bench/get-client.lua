-- wrk script: GET /v1/clients/{id} for random ids of the seeded tenant.
-- Needs CLIENTELE_KEY (a bearer key) and IDS_FILE (one client id per line).
local ids = {}
local key = os.getenv("CLIENTELE_KEY")

init = function(args)
  for line in io.lines(os.getenv("IDS_FILE")) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/v1/clients/" .. id, { ["Authorization"] = "Bearer " .. key })
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx or errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
