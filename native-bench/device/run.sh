#!/usr/bin/env bash
# The scaling run, on the lent many-core machine (prepared by prepare.sh; see native-bench/README.md).
# Runs the threaded suites at 1…2×cores threads and writes the results into $OUT (the device
# tool brings that folder back). BENCH_ARGS adds or overrides options; BENCH_BUDGET_S bounds the run.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-native-bench/results}"
mkdir -p /tmp/sablock-node
xz -dc .node-dist/node.xz > /tmp/sablock-node/node && chmod +x /tmp/sablock-node/node
export PATH="/tmp/sablock-node:$PATH"
mkdir -p node_modules && cp -r .node-dist/node_modules/. node_modules/
cores=$(nproc)
threads="1,2,4,8"
for t in 16 $cores $((2 * cores)); do case ",$threads," in *",$t,"*) ;; *) threads="$threads,$t" ;; esac; done
echo "machine: $cores cores, $(node --version), $(cc --version | head -1)"
# exclusive: the 16-thread targets (vs pthread and V8 Atomics.Mutex); rwlock and manager: scaling.
timeout "${BENCH_BUDGET_S:-480}" node native-bench/run.mjs --suites uncontended,exclusive,rwlock,manager,wakeup \
  --threads "$threads" --rounds 3 --duration 120 --warmup-ms 600 --out "$OUT" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/run.log"
