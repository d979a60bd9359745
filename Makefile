# The two commands a newcomer needs: `make serve` and `make test` (see README.md).
APP_ID ?= myapp
MASTER_KEY ?= myMasterKey

.PHONY: setup serve test bench versus dashboard

setup:
	./scripts/setup.sh

# Builds and serves the example app in cloud/ on http://127.0.0.1:1337/parse
serve: setup
	cargo run --release -- serve ./cloud --app-id $(APP_ID) --master-key $(MASTER_KEY) --allow-client-class-creation

# The official Parse Dashboard (pinned in tests/dashboard/package.json) on http://127.0.0.1:4040,
# managing the app that `make serve` serves (run that in another shell).
DASHBOARD_PORT ?= 4040
dashboard: setup
	node tests/dashboard/node_modules/parse-dashboard/bin/parse-dashboard --appId $(APP_ID) --masterKey $(MASTER_KEY) \
		--serverURL http://127.0.0.1:1337/parse --appName cloudrt --host 127.0.0.1 --port $(DASHBOARD_PORT) --allowInsecureHTTP true

# Lints (warnings are bugs), then unit tests, integration tests (real server on port 0) and the
# official Parse JS SDK tests; then every integration test again (not the unit tests) with
# every server on PostgreSQL (a fresh database each, on the machine's 127.0.0.1:5432).
test: setup
	cargo clippy --release --all-targets -- -D warnings
	cargo test --release
	CLOUDRT_TEST_BACKEND=postgres cargo test --release --test '*'

bench:
	./scripts/setup.sh --bench
	./bench/run.sh

# cloudrt and Parse Server 8 on PostgreSQL side by side, same cloud code, same wrk scenarios.
versus:
	./scripts/setup.sh --bench
	python3 bench/versus.py
