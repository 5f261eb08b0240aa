-- wrk script for bench/api/run: each connection waits 10 ms before each request, so 10
-- connections send a steady ~1,000 requests/s (wrk alone sends as fast as it can).
function delay()
  return 10
end
