# The one test command (README, .ci/run): vet, then every test.
GO ?= go

.PHONY: test build vet generate bench serve

test: vet
	$(GO) test -count=1 ./...
	cd client && $(GO) test -count=1 ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	cd client && $(GO) vet ./...

build:
	$(GO) build -o ionbox ./cmd/ionbox

generate:
	$(GO) generate ./...

serve:
	$(GO) run ./cmd/ionbox serve

# Benchmarks: see README "Benchmarks".
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 90m ./internal/bench/
	$(GO) test -run '^$$' -bench SnapshotScrub -benchtime 1x -count 1 ./internal/sqlite/ ./internal/postgres/
