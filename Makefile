# The two commands a newcomer needs: `make serve` and `make test` (see README.md).
APP_ID ?= myapp
MASTER_KEY ?= myMasterKey

.PHONY: setup serve test bench

setup:
	./scripts/setup.sh

# Builds and serves the example app in cloud/ on http://127.0.0.1:1337/parse
serve: setup
	cargo run --release -- serve ./cloud --app-id $(APP_ID) --master-key $(MASTER_KEY) --allow-client-class-creation

# Lints (warnings are bugs), then unit tests, integration tests (real server on port 0) and the
# official Parse JS SDK tests; then a representative set again with every server on PostgreSQL
# (a fresh database each, on the machine's 127.0.0.1:5432).
PG_SUITE ?= --test objects --test users --test roles --test durability --test sdk
test: setup
	cargo clippy --release --all-targets -- -D warnings
	cargo test --release
	CLOUDRT_TEST_BACKEND=postgres cargo test --release $(PG_SUITE)

bench:
	./scripts/setup.sh --bench
	./bench/run.sh
