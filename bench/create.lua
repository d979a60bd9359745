-- POST /parse/classes/BenchItem with a small body and the master key: one durable write each.
wrk.method = "POST"
wrk.body = '{"name":"bench item","n":42,"tags":["a","b"]}'
wrk.headers["X-Parse-Application-Id"] = "myapp"
wrk.headers["X-Parse-Master-Key"] = "bench-master"
wrk.headers["Content-Type"] = "application/json"
