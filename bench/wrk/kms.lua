-- wrk script for kmsd's benchmark suite (driven by bench/run; usable by hand too).
--
-- Every request is `POST /` in the AWS JSON 1.1 protocol. Environment:
--   KMSD_TARGET      operation name, e.g. GenerateDataKeyWithoutPlaintext (required)
--   KMSD_BODIES      file with one JSON request body per line (required). One line gives
--                    a static request (wrk's fastest path); several lines are sent round-robin.
--   KMSD_KEYS_OUT    optional: append the KeyId of every 200 response to this file
--   KMSD_REGION      optional: region in the SigV4 credential scope (default us-east-1)
--
-- done() prints one line `KMSD_RESULT {json}` with requests, duration, socket errors,
-- non-2xx/3xx responses (wrk counts status > 399) and latency percentiles in microseconds.

local target = os.getenv("KMSD_TARGET") or error("KMSD_TARGET is not set")
local bodies_path = os.getenv("KMSD_BODIES") or error("KMSD_BODIES is not set")
local region = os.getenv("KMSD_REGION") or "us-east-1"
local keys_out_path = os.getenv("KMSD_KEYS_OUT")

local bodies = {}
for line in io.lines(bodies_path) do
  if #line > 0 then bodies[#bodies + 1] = line end
end
if #bodies == 0 then error("no request body in " .. bodies_path) end

wrk.method = "POST"
wrk.path = "/"
wrk.headers["X-Amz-Target"] = "TrentService." .. target
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKID/20260101/" .. region ..
  "/kms/aws4_request, SignedHeaders=host, Signature=00"
wrk.body = bodies[1]

if #bodies > 1 then
  local requests = {}
  for i, body in ipairs(bodies) do
    requests[i] = wrk.format("POST", "/", nil, body)
  end
  local n, i = #requests, 0
  -- Defining `request` makes wrk call it for every request (dynamic mode).
  request = function()
    i = i % n + 1
    return requests[i]
  end
end

if keys_out_path then
  -- Defining `response` makes wrk parse every response body: only for population runs
  -- (bench/run stops those with SIGINT once /_kmsd/health reports enough keys).
  local out = assert(io.open(keys_out_path, "a"))
  out:setvbuf("line")
  response = function(status, headers, body)
    if status == 200 then
      local id = string.match(body, '"KeyId"%s*:%s*"([^"]+)"')
      if id then out:write(id, "\n") end
    end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'KMSD_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d,' ..
    '"errors_status":%d,"lat_mean_us":%.1f,"lat_max_us":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
