#!/usr/bin/env bash
# Builds the ecsd container image from this checkout without pulling
# anything: a static binary (pure Go, CGO off) on an empty base.
#
#   deploy/docker/build-image.sh [TAG]     # default ecsd:latest
#
# The binary carries the module version and VCS revision (`ecsd version`).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tag=${1:-ecsd:latest}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/tmp" "$ctx/rootfs/data"
chmod 1777 "$ctx/rootfs/tmp"
arch=$(docker version --format '{{.Server.Arch}}' 2>/dev/null || go env GOARCH)
(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath -ldflags='-s -w' -o "$ctx/rootfs/ecsd" ./cmd/ecsd)
cp "$root/deploy/docker/Dockerfile" "$ctx/Dockerfile"
# The legacy builder warns on every build; show its output only when it fails.
if ! out=$(docker build --quiet -t "$tag" "$ctx" 2>&1); then
	printf '%s\n' "$out" >&2
	exit 1
fi
echo "$tag"
