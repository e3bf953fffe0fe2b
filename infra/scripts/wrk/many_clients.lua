-- wrk script for infra/scripts/bench-gateway: many residents reading at once, each request from
-- its own client address (X-Forwarded-For, which the gateway trusts in that benchmark), so that
-- no one address comes near its read budget. 65 536 addresses in 10.0.0.0/16, in turn.
local n = 0

function setup(thread)
  thread:set("offset", math.random(0, 65535))
end

function request()
  n = n + 1
  local a = (offset + n) % 65536
  wrk.headers["X-Forwarded-For"] = string.format("10.0.%d.%d", math.floor(a / 256), a % 256)
  return wrk.format(nil)
end
