#!/usr/bin/env bash
# Fetch the corpus of the GitHub demo, @octokit/webhooks-examples 7.6.1 (MIT):
# real webhook deliveries recorded by GitHub. `npm pack` puts it in
# examples/github/cache/, which git ignores; nothing of it is committed.
# Prints the absolute path of the unpacked package directory.
set -euo pipefail

version=7.6.1
cache=$(cd "$(dirname "$0")" && pwd)/cache
pkg=$cache/webhooks-examples-$version/package
if [ ! -f "$pkg/api.github.com/index.json" ]; then
  mkdir -p "$cache/webhooks-examples-$version"
  (cd "$cache" && npm pack --silent "@octokit/webhooks-examples@$version" >/dev/null)
  tar xzf "$cache/octokit-webhooks-examples-$version.tgz" -C "$cache/webhooks-examples-$version"
fi
# the server reads the files (pg_read_file), as the postgres OS user
chmod -R a+rX "$cache"
echo "$pkg"
