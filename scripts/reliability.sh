#!/usr/bin/env bash
# The reliability suite (tests/reliability): faults, load, bad input and security.
#   npm run test:reliability                 # the fast parts (they also run in npm test)
#   npm run test:reliability -- --long       # fast and long parts (AIDE_RELIABILITY_LONG=1)
#   npm run test:reliability -- --only-long  # only the long parts (describeLong, named "[long] ..."), as .ci/run does
# Other arguments go to vitest, e.g. a file filter: npm run test:reliability -- faults/redis
set -euo pipefail
cd "$(dirname "$0")/.."
only_long=0
args=()
for a in "$@"; do
  case "$a" in
    --long) export AIDE_RELIABILITY_LONG=1 ;;
    --only-long) export AIDE_RELIABILITY_LONG=1; only_long=1 ;;
    *) args+=("$a") ;;
  esac
done
bash scripts/ensure-deps.sh --services
# vitest's file filters are substrings of the path, OR'ed: a filter given here replaces the default one.
filter=(tests/reliability/)
name=()
[ "$only_long" = 1 ] && name=(-t '\[long\]')
prev=""
for a in "${args[@]}"; do
  case "$prev" in -t|--testNamePattern|--reporter|--project) prev="$a"; continue ;; esac
  case "$a" in -*) ;; *) filter=(); break ;; esac
  prev="$a"
done
exec npx vitest run "${filter[@]}" "${name[@]}" "${args[@]}"
