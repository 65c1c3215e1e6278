"""The wrk scripts of `http_bench.py` (Lua), written to a folder before each run.

Each script ends with the same `done()`: one line `WRKJSON {...}` with the request count, the
duration, p50/p99 latency and the error counts, which `http_bench.py` parses.
"""

from __future__ import annotations

from pathlib import Path

DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  local extra = ""
  if threads ~= nil then
    local logins, refused = 0, 0
    for _, t in ipairs(threads) do
      logins = logins + (t:get("logins") or 0)
      refused = refused + (t:get("refused") or 0)
    end
    extra = string.format(',"logins":%d,"refused":%d', logins, refused)
  end
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%.0f,"p99_us":%.0f,' ..
    '"socket_errors":%d,"http_errors":%d%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status, extra))
end
"""

# Numbers threads, and gives each its share of the lines of a file (args: file, thread count).
SHARE = r"""
local counter = 0
threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local function my_lines(path, nthreads)
  local mine, i = {}, 0
  for line in io.lines(path) do
    if i % nthreads == id then mine[#mine + 1] = line end
    i = i + 1
  end
  return mine
end
"""

# A plain GET with fixed headers (args: Authorization header value, or "-").
GET = (
    r"""
function init(args)
  if args[1] ~= nil and args[1] ~= "-" then wrk.headers["Authorization"] = args[1] end
end
"""
    + DONE
)

# GET /oauth/token with a bearer token picked at random from a file (args: file, query).
RANDOM_TOKEN = (
    SHARE
    + r"""
function init(args)
  tokens = {}
  for line in io.lines(args[1]) do tokens[#tokens + 1] = "Bearer " .. line end
  path = args[2]
  math.randomseed(os.time() * 100 + id)
end
function request()
  return wrk.format("GET", path, {["Authorization"] = tokens[math.random(#tokens)]})
end
"""
    + DONE
)

# POST /oauth/token, one pre-issued code per request (args: bodies file, threads, Basic header).
EXCHANGE = (
    SHARE
    + r"""
function init(args)
  bodies = my_lines(args[1], tonumber(args[2]))
  auth = args[3]
  n = 0
end
function request()
  n = n + 1
  local body = bodies[n] or "code=exhausted"
  return wrk.format("POST", "/oauth/token", {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
"""
    + DONE
)

# A whole sign-in per loop, one connection per thread (-c equal to -t) so that each thread's
# state is one browser's: authorize, page, identify, page, signature (verified), exchange.
# args: logins file ("identifier<TAB>urlencoded capture" lines), threads, authorize path,
# Basic header, token body prefix ("client_id=...&redirect_uri=...&code=").
LOGIN = (
    SHARE
    + r"""
function init(args)
  queue = my_lines(args[1], tonumber(args[2]))
  authorize = args[3]
  auth = args[4]
  exchange_prefix = args[5]
  n, logins, refused = 1, 0, 0  -- read by done() through thread:get
  state = "authorize"
end
local form = {["Content-Type"] = "application/x-www-form-urlencoded"}
local function current()
  local line = queue[((n - 1) % #queue) + 1]
  local tab = line:find("\t", 1, true)
  return line:sub(1, tab - 1), line:sub(tab + 1)
end
local function next_login()
  n = n + 1
  state = "authorize"
end
function request()
  if state == "authorize" then
    return wrk.format("GET", authorize)
  elseif state == "page" or state == "page2" then
    return wrk.format("GET", page)
  elseif state == "identify" then
    local identifier = current()
    return wrk.format("POST", page .. "/identify", form,
      "nonce=" .. nonce .. "&identifier=" .. identifier)
  elseif state == "sign" then
    local _, capture = current()
    return wrk.format("POST", page .. "/signature", form,
      "nonce=" .. nonce .. "&capture=" .. capture)
  else
    return wrk.format("POST", "/oauth/token", {
      ["Authorization"] = auth,
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, exchange_prefix .. code)
  end
end
function response(status, headers, body)
  local location = headers["location"] or headers["Location"]
  if state == "authorize" then
    page = location
    state = page and "page" or "authorize"
  elseif state == "page" or state == "page2" then
    nonce = body:match('name="nonce" value="([^"]+)"')
    if nonce == nil then next_login()
    elseif state == "page" then state = "identify" else state = "sign" end
  elseif state == "identify" then
    state = "page2"
  elseif state == "sign" then
    code = location and location:match("[?&]code=([^&]+)")
    if code then state = "exchange" else
      refused = refused + 1
      next_login()
    end
  else
    if status == 201 then
      logins = logins + 1
    end
    next_login()
  end
end
"""
    + DONE
)


def write_scripts(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    scripts = {
        "get": GET,
        "random_token": RANDOM_TOKEN,
        "exchange": EXCHANGE,
        "login": LOGIN,
    }
    paths = {}
    for name, text in scripts.items():
        path = folder / f"{name}.lua"
        path.write_text(text)
        paths[name] = path
    return paths
