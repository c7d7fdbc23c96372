#!/bin/sh
# The broker's production build, in one place: the Dockerfile runs it, and
# packages/broker/test/e2e/container-image.test.ts runs it in a copy of the build context and starts the
# result with plain node, so the image and its test cannot drift apart.
#
#   sh scripts/build-dist.sh OUT
#
# Run from the repository root. Dependencies come from pnpm's store (filled by `pnpm fetch` in the image, by
# the developer's own install otherwise); only what is missing there is downloaded. OUT receives a standalone broker: its
# package.json, bin/, dist/ (compiled JavaScript), and node_modules with production dependencies only, the
# workspace packages (core, protocol, client) copied in with their dist/. Start it with `node dist/cli.js`.
set -eu
out="${1:?usage: sh scripts/build-dist.sh OUT}"

# The broker and what it depends on, plus the root's TypeScript; not the bench and its comparison servers.
pnpm install --prefer-offline --frozen-lockfile --filter '@switchboard/broker...' --filter switchboard
# `tsc -b` of the packages' build tsconfigs: JavaScript, declarations and source maps in each dist/.
pnpm run build
pnpm --prefer-offline --filter @switchboard/broker deploy --prod "$out"
