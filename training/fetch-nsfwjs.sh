#!/bin/sh
# Fetches the pinned npm package nsfwjs@4.3.0 into CACHE_DIR (default
# ~/.cache/magpie/npm), checks its sha512 integrity and unpacks it into
# CACHE_DIR/nsfwjs-4.3.0/package. Idempotent; offline once the tarball is there.
set -eu
CACHE="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/magpie/npm}"
PKG=nsfwjs@4.3.0
TGZ=nsfwjs-4.3.0.tgz
INTEGRITY='sha512-WTKDte0vp1X97N1h34P79G/hG+sVT3+TnDz9di1WseIJR93v11E4viNX7Vg9WsO6HYoR772Nzq2iM8jo3XBZ+g=='
mkdir -p "$CACHE"
cd "$CACHE"
if [ ! -f "$TGZ" ]; then
    npm pack "$PKG" --silent >/dev/null
fi
GOT="sha512-$(openssl dgst -sha512 -binary "$TGZ" | base64 -w0)"
if [ "$GOT" != "$INTEGRITY" ]; then
    echo "fetch-nsfwjs: integrity mismatch for $TGZ: $GOT" >&2
    rm -f "$TGZ"
    exit 1
fi
if [ ! -f nsfwjs-4.3.0/package/dist/models/mobilenet_v2/model.min.js ]; then
    rm -rf nsfwjs-4.3.0 && mkdir nsfwjs-4.3.0
    tar xzf "$TGZ" -C nsfwjs-4.3.0 package/dist/models/mobilenet_v2 package/LICENSE package/package.json
fi
