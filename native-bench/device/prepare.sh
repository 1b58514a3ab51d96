#!/usr/bin/env bash
# Prepares the scaling run on a lent many-core machine (see native-bench/README.md, "Scaling run").
# That machine has gcc but no Node.js and no registry: this packs what the run needs into the
# ignored folder .node-dist/ (listed in .gitignore), which the device call carries along.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build >/dev/null
mkdir -p .node-dist/node_modules
# This machine's Node.js binary, compressed (about 27 MB; the carry limit is 64 MiB in all).
xz -T0 -c "$(command -v node)" > .node-dist/node.xz
# The only packages the bench imports at run time (tinybench, async-mutex and its tslib).
for p in tinybench async-mutex tslib; do rm -rf ".node-dist/node_modules/$p"; cp -r "node_modules/$p" .node-dist/node_modules/; done
du -sh .node-dist dist
echo 'carry: [".node-dist", "dist"]   command: bash native-bench/device/run.sh'
