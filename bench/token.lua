-- wrk script for bench/token_endpoint.py: POST a token request as fast as the server answers.
--
--   wrk ... -s bench/token.lua URL -- BODY AUTHORIZATION CLOSE [ASSERTIONS OFFSET NTHREADS]
--
-- BODY           the form-urlencoded body (with ASSERTIONS: its prefix, ending "client_assertion=")
-- AUTHORIZATION  the Authorization header value, "" for none, or "@FILE": a file of header values,
--                one per line (--applications: one application each). Thread t of NTHREADS sends
--                lines t, t+NTHREADS, ... in turn, round and round, so the applications are used
--                round-robin, each as often as the others.
-- CLOSE          "1" sends "Connection: close" (a new TCP connection per request), "0" keeps alive
-- ASSERTIONS     a file of pre-signed client assertions, one per line; each is sent once, or "-"
--                for none (to pass NTHREADS with "@FILE").
--                Thread t of NTHREADS takes lines OFFSET+t, OFFSET+t+NTHREADS, ... so no two
--                requests share a jti. A thread that runs out sends "exhausted" (a 401), which
--                the harness reports as a failure.
-- done() prints one line "BENCH_JSON {...}" that the harness parses.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   if args[2] ~= "" and args[2]:sub(1, 1) ~= "@" then
      wrk.headers["Authorization"] = args[2]
   end
   if args[3] == "1" then
      wrk.headers["Connection"] = "close"
   end
   sent = 0
   exhausted = 0
   if args[2]:sub(1, 1) == "@" then
      round_robin(args[1], args[2]:sub(2), tonumber(args[6]))
      return
   end
   if args[4] == nil then
      wrk.body = args[1]  -- static: wrk formats the request once and never calls Lua per request
      return
   end
   local prefix, offset, nthreads = args[1], tonumber(args[5]), tonumber(args[6])
   local assertions, line_number = {}, 0
   for line in io.lines(args[4]) do
      if line_number >= offset and (line_number - offset) % nthreads == id then
         assertions[#assertions + 1] = line
      end
      line_number = line_number + 1
   end
   -- Defining request() makes wrk call it for every request (a dynamic script).
   request = function()
      sent = sent + 1
      local assertion = assertions[sent]
      if assertion == nil then
         exhausted = exhausted + 1
         assertion = "exhausted"
      end
      return wrk.format(nil, nil, nil, prefix .. assertion)
   end
end

-- One Authorization header per request, this thread's share of the file's lines in turn.
function round_robin(body, path, nthreads)
   local mine, line_number = {}, 0
   for line in io.lines(path) do
      if line_number % nthreads == id then
         mine[#mine + 1] = line
      end
      line_number = line_number + 1
   end
   wrk.body = body
   request = function()
      sent = sent + 1
      wrk.headers["Authorization"] = mine[(sent - 1) % #mine + 1]
      return wrk.format()
   end
end

function done(summary, latency, requests)
   local max_sent, exhausted_total = 0, 0
   for _, thread in ipairs(threads) do
      max_sent = math.max(max_sent, thread:get("sent") or 0)
      exhausted_total = exhausted_total + (thread:get("exhausted") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors_connect": %d, "errors_read": %d, ' ..
      '"errors_write": %d, "errors_status": %d, "errors_timeout": %d, "latency_p50_us": %d, "latency_p90_us": %d, ' ..
      '"latency_p99_us": %d, "latency_max_us": %d, "max_sent_per_thread": %d, "threads": %d, "exhausted": %d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      max_sent, #threads, exhausted_total))
end
