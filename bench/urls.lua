-- wrk script: GET a random path among the lines of URLS_FILE, with the bearer key CLIENTELE_KEY.
local paths = {}
local key = os.getenv("CLIENTELE_KEY")

init = function(args)
  for line in io.lines(os.getenv("URLS_FILE")) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)], { ["Authorization"] = "Bearer " .. key })
end

done = function(summary, latency, requests)
  io.write(string.format("non-2xx or errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
