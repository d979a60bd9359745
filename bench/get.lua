-- A GET with the master key: the path (object id, or query string) comes from the URL.
wrk.method = "GET"
wrk.headers["X-Parse-Application-Id"] = "myapp"
wrk.headers["X-Parse-Master-Key"] = "bench-master"
