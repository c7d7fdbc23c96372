#!/usr/bin/env bash
# `pnpm interop`: runs the interop tests, recording each pair's checks, and regenerates docs/interop.md.
# The tests assert every check either way; only this command rewrites the document. The exit status is
# the tests' own, so a failing pair fails the command after the document shows which check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
results="$(mktemp -t interop-results.XXXXXX.jsonl)"
trap 'rm -f "$results"' EXIT
INTEROP_RESULTS="$results" npx tap packages/core/test/interop/*.test.ts
status=$?
node --conditions=@switchboard/source --import=tsx scripts/interop-report.ts "$results" docs/interop.md || exit 1
exit "$status"
