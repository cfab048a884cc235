#!/usr/bin/env bash
# Mutation testing of src/core and the rule modules of src/services (see docs/testing.md).
# Not part of `npm test` or CI: a full run takes minutes. One test process by default, so the
# machine stays usable; pass `--concurrency 2` (or any other Stryker option) to change that.
# The report: reports/mutation/index.html, and reports/mutation/mutation.json for tools.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p reports/mutation
exec node node_modules/@stryker-mutator/core/bin/stryker.js run stryker.config.mjs "$@"
