-- wrk script: cycles through pre-generated requests, one per line of a file:
--   METHOD <tab> PATH <tab> AUTHORIZATION or - <tab> STRIPE-SIGNATURE or - <tab> BODY
-- Usage: wrk -s bench/requests.lua URL -- FILE THREADS
-- Thread k takes lines k, k+T, k+2T, ... so the threads never send the same line twice in a
-- round, and signed events stay distinct until the file has been sent once.
-- done() prints one line, "BENCH {json}", that bench/loadgen.py reads.

local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == tid then
      local m, p, auth, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local h = { ["Content-Type"] = "application/json" }
      if auth ~= "-" then h["Authorization"] = auth end
      if sig ~= "-" then h["Stripe-Signature"] = sig end
      reqs[#reqs + 1] = wrk.format(m, p, h, body)
    end
    i = i + 1
  end
  idx = 0
end

function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
