-- wrk script for bench/api/run: each connection waits 10 ms before each request, so 12
-- connections send a steady ~1,000 requests/s (a request takes ~1.5 ms more on a loaded
-- 2-core machine; wrk alone sends as fast as it can).
function delay()
  return 10
end
