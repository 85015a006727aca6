# Pictor: `make run` serves on http://127.0.0.1:8080, `make test` runs everything.
.PHONY: run build test test-postgres bench e2e fuzz format lint clean setup

run:
	scripts/setup run
	swift build -c release --product pictor
	"$$(swift build -c release --show-bin-path)/pictor" serve

build:
	scripts/setup run
	swift build -c release --product pictor

test:
	scripts/test

# The suite on PostgreSQL only (a throwaway server is started and stopped).
test-postgres:
	scripts/setup test
	swift build --build-tests
	eval "$$(scripts/start-postgres)"; trap 'scripts/stop-postgres "$$PICTOR_PG_DIR"' EXIT; \
	  SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=$${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8} swift test --skip-build  # see scripts/test

bench:
	scripts/setup test
	swift build -c release --product pictor-bench
	scripts/bench "$$(swift build -c release --show-bin-path)/pictor-bench"

e2e:
	scripts/setup test
	swift build --product pictor
	scripts/e2e "$$(swift build --show-bin-path)/pictor"

# Coverage-guided fuzzing of the parsers that read outside bytes, for FUZZ_SECONDS (default 300).
fuzz:
	scripts/setup run
	scripts/fuzz $${FUZZ_SECONDS:-300}

# The tree is formatted with the committed `.swift-format`; `make lint` (run by CI) fails otherwise.
format:
	swift format --in-place --recursive --parallel Package.swift Sources Tests Benchmarks

lint:
	swift format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks

setup:
	scripts/setup e2e

clean:
	rm -rf .build .build-* data e2e/screenshots
