-- One ECS JSON 1.1 operation, sent the way the AWS SDKs send it: POST /
-- with X-Amz-Target, the JSON 1.1 content type, X-Amz-Date and a SigV4
-- Authorization header whose credential scope names the region and
-- service. The signature is not a real one: ecsd (without --credentials)
-- and moto_server read the scope and do not verify it.
--
--   ECS_OP=DescribeTaskDefinition ECS_BODY='{"taskDefinition":"bench:1"}' \
--     wrk -t2 -c16 -d10s -s bench/wrk/ecs.lua http://127.0.0.1:8080/
--
-- The last line of the output is machine-readable (see done below).

local op = os.getenv("ECS_OP")
local body = os.getenv("ECS_BODY")
if not op or op == "" or not body then
  io.stderr:write("ecs.lua: set ECS_OP (an ECS operation) and ECS_BODY (its JSON request)\n")
  os.exit(2)
end

wrk.method = "POST"
wrk.path = "/"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AmazonEC2ContainerServiceV20141113." .. op
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
wrk.headers["User-Agent"] = "aws-sdk-go-v2/1.36.3 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/ecs#1.57.0"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 " ..
  "Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ecs/aws4_request, " ..
  "SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target, " ..
  "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

-- Latencies in ms; non2xx counts answers that were not 2xx (an error
-- answer is fast and must not pass for throughput), errors counts socket
-- errors and timeouts.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.1f p50=%.3f p90=%.3f p99=%.3f max=%.3f requests=%d non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
