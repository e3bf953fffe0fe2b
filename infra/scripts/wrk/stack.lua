-- wrk script for infra/scripts/bench-stack: what phone apps do to the gateway.
--
--   BENCH_ROUTE   get | near | inbox | create | mix   (mix: 50 % get, 20 % near, 20 % inbox, 10 % create)
--   BENCH_IDS     file with one request id per line (seeded requests)
--   BENCH_TOKENS  file with one access token per line (signed-in residents)
--
-- Reads of single requests and near-me lists are anonymous, as the public map of an app is;
-- inbox reads and creates carry a resident's token. Every thread starts at its own offset in the
-- files, so connections do not walk the same ids in lock step.

local route = os.getenv("BENCH_ROUTE") or "mix"

local function lines(path)
  local out = {}
  if path == nil or path == "" then return out end
  local f = assert(io.open(path, "r"), "cannot open " .. path)
  for line in f:lines() do
    if #line > 0 then out[#out + 1] = line end
  end
  f:close()
  return out
end

local ids, tokens = {}, {}
local counter, step = 0, 0
local thread_id = 0

-- The area the seed spreads requests over (Bielefeld).
local min_lat, max_lat, min_lon, max_lon = 51.95, 52.08, 8.43, 8.62
-- New reports go inside the city's seeded boundary (services/requests/data), which the box's
-- corners leave.
local new_min_lat, new_max_lat, new_min_lon, new_max_lon = 51.96, 52.07, 8.46, 8.60

local threads_created = 0
function setup(thread)
  thread:set("thread_id", threads_created)
  threads_created = threads_created + 1
end

function init(args)
  ids = lines(os.getenv("BENCH_IDS"))
  tokens = lines(os.getenv("BENCH_TOKENS"))
  math.randomseed(1000 + thread_id)
  counter = thread_id * 7919
  if (route == "get" or route == "mix") and #ids == 0 then error("BENCH_IDS is empty") end
  if (route == "inbox" or route == "create" or route == "mix") and #tokens == 0 then
    error("BENCH_TOKENS is empty")
  end
end

local function pick(list)
  counter = counter + 1
  return list[(counter % #list) + 1]
end

local function get_request()
  return wrk.format("GET", "/v1/requests/" .. pick(ids))
end

local function near()
  local lat = min_lat + math.random() * (max_lat - min_lat)
  local lon = min_lon + math.random() * (max_lon - min_lon)
  return wrk.format("GET", string.format("/v1/requests?lat=%.5f&long=%.5f&radius_m=500&page_size=20", lat, lon))
end

local function inbox()
  return wrk.format("GET", "/v1/notifications?page_size=20",
                    {["Authorization"] = "Bearer " .. pick(tokens)})
end

local function create()
  local lat = new_min_lat + math.random() * (new_max_lat - new_min_lat)
  local lon = new_min_lon + math.random() * (new_max_lon - new_min_lon)
  local body = string.format(
    '{"service_code":"pothole","lat":%.6f,"long":%.6f,"attributes":{"surface":"road"},' ..
    '"description":"Schlagloch auf der Fahrbahn, etwa zwei Handbreit tief."}', lat, lon)
  return wrk.format("POST", "/v1/requests",
                    {["Authorization"] = "Bearer " .. pick(tokens), ["Content-Type"] = "application/json"},
                    body)
end

local mix = {}
for _ = 1, 5 do mix[#mix + 1] = get_request end
for _ = 1, 2 do mix[#mix + 1] = near end
for _ = 1, 2 do mix[#mix + 1] = inbox end
mix[#mix + 1] = create

local single = {get = get_request, near = near, inbox = inbox, create = create}

function request()
  if route == "mix" then
    step = step + 1
    return mix[(step % #mix) + 1]()
  end
  return single[route]()
end
