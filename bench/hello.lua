wrk.method = "POST"
wrk.body = '{"name":"Ada"}'
wrk.headers["X-Parse-Application-Id"] = "myapp"
wrk.headers["Content-Type"] = "application/json"
