#!/usr/bin/env bash
# The project's test command: vet, a gofmt check, and the race-enabled tests.
set -euo pipefail
cd "$(dirname "$0")"
go vet ./...
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" $unformatted >&2
	exit 1
fi
go test -race ./...
# Every load benchmark once, as a smoke test (figures come from go run ./bench).
go test -run NONE -bench . -benchtime=1x ./bench
