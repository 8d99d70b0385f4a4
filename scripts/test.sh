#!/usr/bin/env bash
# `npm test`: the whole default suite — core tests in Node and in Debian's
# Chromium — then one closing line with the totals. Runs under the Node 24 that
# npm puts first on PATH (the pinned `node` devDependency).
set -uo pipefail
cd "$(dirname "$0")/.."
node scripts/ensure-chromium.ts || exit 1
node scripts/ensure-rclone.ts || exit 1
results=node_modules/.cache/coffer/test-results.json
mkdir -p "$(dirname "$results")"
rm -f "$results"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
status=$?
node scripts/summarize-tests.ts "$results" || status=1
exit $status
