#!/usr/bin/env bash
# Builds speaker/native/build/Release/metallb_rawsock.node with node-gyp against the installed Node headers
# (--nodedir=/usr: /usr/include/node, so nothing is downloaded). Needs g++, make, python3 and node-addon-api
# in node_modules. Uses the node-gyp on PATH (npm scripts put npm's bundled one there), else npm's bundled one.
set -euo pipefail
cd "$(dirname "$0")"
nodedir="${NODEDIR:-/usr}"
if command -v node-gyp >/dev/null 2>&1; then
  gyp=(node-gyp)
else
  gyp=(node "$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js")
fi
exec "${gyp[@]}" rebuild --nodedir="$nodedir" --release "$@"
