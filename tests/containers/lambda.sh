#!/usr/bin/env bash
# What moto's Lambda needs to run Pier's functions in containers on this machine's engine
# (tests/containers/engine.sh), built from Debian packages because nothing can be pulled:
# - busybox:latest (tests/containers/bases.sh), which moto runs to fill a code volume;
# - pier-stand-in/lambda-node:nodejs20.x (tests/containers/lambda-node/), the runtime image.
#
#   bash tests/containers/lambda.sh        make (or reuse) both; prints the runtime's repository
#
# moto then runs a function with MOTO_DOCKER_LAMBDA_IMAGE=<that repository> (it appends
# :<runtime>), MOTO_DOCKER_NETWORK_MODE=host and the engine's DOCKER_HOST. A run with nothing
# to do takes about a second (the build is cached by the engine).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/engine.sh"
repository=${PIER_LAMBDA_IMAGE:-pier-stand-in/lambda-node}

PIER_BASES_BUSYBOX=1 bash "$here/bases.sh" >/dev/null
node_base=${PIER_NODE_STAND_IN:-pier-stand-in/node:20-trixie}
"$PIER_DOCKER" build --quiet --network host --build-arg "BASE_IMAGE=$node_base" \
  -t "$repository:nodejs20.x" "$here/lambda-node" >/dev/null
# Every Node runtime name a function may ask for runs on the one image (Debian's Node).
for runtime in nodejs18.x nodejs22.x nodejs24.x; do
  "$PIER_DOCKER" tag "$repository:nodejs20.x" "$repository:$runtime"
done
echo "$repository"
