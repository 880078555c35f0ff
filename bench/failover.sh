#!/usr/bin/env bash
# Failover campaign on this machine's Docker Engine (bench/failover): builds
# ecsd's image and a PostgreSQL image from the host's own PostgreSQL
# binaries (nothing is pulled), runs the campaign, removes both images.
# Usage: bench/failover.sh [-replicas N] [-load D] [-seed S] [-work DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
tag=failover-$$-$RANDOM
ecsd_image=ecsd:$tag
pg_image=ecsd-postgres:$tag
trap 'docker rmi -f "$ecsd_image" "$pg_image" >/dev/null 2>&1 || true' EXIT
deploy/docker/build-image.sh "$ecsd_image" >/dev/null
deploy/compose/build-postgres-image.sh "$pg_image" >/dev/null
go run ./bench/failover -ecsd-image "$ecsd_image" -postgres-image "$pg_image" "$@"
