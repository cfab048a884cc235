#!/usr/bin/env bash
# Instructions per request on the HTTP benchmark server's main thread, counted by callgrind:
# the same count whatever else the machine is doing, unlike req/s on a noisy VM.
#
#   bash bench/instructions.sh                 # open, naive and token routes, 2,000 requests each
#   REQUESTS=500 bash bench/instructions.sh token
#
# Each route gets a server of its own under valgrind (about two minutes each): warmed up with
# 6,000 requests uninstrumented, then REQUESTS are counted from 10 autocannon connections.
set -euo pipefail
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install -y valgrind)"; exit 2; }
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-2000}
ROUTES=${*:-open naive token}
OPERATOR=bench-operator-token-0123456789abcdefghijkl
AUTOCANNON="node node_modules/autocannon/autocannon.js --no-progress -c 10"

count() {
  local route=$1 work out pid base secret
  work=$(mktemp -d)
  env PORT=0 LATCHKEY_DATABASE_URL="sqlite:$work/latchkey.db" LATCHKEY_ADMIN_TOKEN=$OPERATOR LATCHKEY_DEMO_ACCOUNT=false \
    LATCHKEY_LOG_LEVEL=warn LATCHKEY_ARGON2_MEMORY_KIB=1024 LATCHKEY_ARGON2_PASSES=1 \
    valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes --callgrind-out-file="$work/cg.%p" \
    node --import tsx bench/http-server.ts > "$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q "listening on" "$work/server.log" && break; sleep 1; done
  base=$(grep -o "listening on http://[^ ]*" "$work/server.log" | cut -d' ' -f3)
  secret=$(node --import tsx -e "
    import { call, expectOk, ownerSession } from './bench/lib/client.ts';
    const session = await ownerSession('$base', '$OPERATOR');
    const domain = expectOk(await call('$base', 'POST', '/v1/domains', { name: 'bench.example.com' }, session), 'domain');
    const token = expectOk(await call('$base', 'POST', '/v1/tokens', { name: 'bench', scopes: ['domains:read'], domains: [domain.domain.id], ip_allowlist: ['127.0.0.0/8', '::1/128'] }, session), 'token');
    console.log(token.secret);")
  $AUTOCANNON -a 6000 -H "authorization=Bearer $secret" "$base/bench/$route" > /dev/null 2>&1
  callgrind_control -i on "$pid" > /dev/null 2>&1
  $AUTOCANNON -a "$REQUESTS" -H "authorization=Bearer $secret" "$base/bench/$route" > /dev/null 2>&1
  sleep 1.5 # one access-log flush interval, so that the token route's writes are counted
  callgrind_control -i off "$pid" > /dev/null 2>&1
  callgrind_control -d "$pid" > /dev/null 2>&1
  kill "$pid"; wait "$pid" || true
  # Thread 1 is the main thread: the event loop, the handlers and the access-log flush.
  grep -h '^totals:' "$work"/cg.*.1-01 | awk -v route="$route" -v n="$REQUESTS" '{ printf "%-6s %8.0f instructions per request\n", route, $2 / n }'
  rm -rf "$work"
}

for route in $ROUTES; do count "$route"; done
