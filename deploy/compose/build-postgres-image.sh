#!/usr/bin/env bash
# Builds a PostgreSQL server image from this machine's own PostgreSQL
# binaries, pulling nothing: there is no registry here, and `FROM postgres`
# needs one. The image is FROM scratch: the server binaries of PG_BIN (by
# default the newest /usr/lib/postgresql/*/bin), their share directory, the
# shared libraries they link (as ldd reports them), dash as /bin/sh (initdb
# runs the bootstrap server through popen) and UTC's zone file.
#
#   deploy/compose/build-postgres-image.sh [TAG]     # default ecsd-postgres:latest
#
# The image runs as uid 999 ("postgres"), initialises /var/lib/postgresql/data
# on first start (with POSTGRES_PASSWORD: scram-sha-256 for every network
# client; without: trust, for throwaway databases on a private network) and
# passes its arguments to the server (`-c name=value` settings).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tag=${1:-ecsd-postgres:latest}
if [[ -z ${PG_BIN:-} ]]; then
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[[ -x ${PG_BIN:-}/postgres && -x $PG_BIN/initdb ]] ||
	{ echo "build-postgres-image: no PostgreSQL server binaries (install postgresql, or set PG_BIN)" >&2; exit 1; }
pkglib=$("$PG_BIN/pg_config" --pkglibdir)
share=$("$PG_BIN/pg_config" --sharedir)

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
rootfs=$ctx/rootfs
mkdir -p "$rootfs$PG_BIN" "$rootfs$pkglib" "$(dirname "$rootfs$share")" "$rootfs/bin" "$rootfs/etc" \
	"$rootfs/tmp" "$rootfs/var/lib/postgresql/data" "$rootfs/usr/share/zoneinfo/Etc"
chmod 1777 "$rootfs/tmp"
chmod 700 "$rootfs/var/lib/postgresql/data"
bins=(postgres initdb pg_ctl pg_isready psql)
for b in "${bins[@]}"; do cp -L "$PG_BIN/$b" "$rootfs$PG_BIN/"; done
# Every module but the JIT (LLVM alone is larger than the rest together;
# the entrypoint turns jit off).
find "$pkglib" -maxdepth 1 -name '*.so' ! -name 'llvmjit*' -exec cp -L {} "$rootfs$pkglib/" \;
cp -a "$share" "$rootfs$share"
cp -L /bin/dash "$rootfs/bin/sh"
cp -L /usr/share/zoneinfo/UTC "$rootfs/usr/share/zoneinfo/UTC"
cp -L /usr/share/zoneinfo/UTC "$rootfs/usr/share/zoneinfo/Etc/UTC"
# The shared libraries (and the dynamic loader) everything above links.
{
	for f in "$rootfs$PG_BIN"/* "$rootfs$pkglib"/*.so "$rootfs/bin/sh"; do ldd "$f" 2>/dev/null || true; done
} | awk '/=> \// {print $3} /^\t\// {print $1}' | sort -u | while read -r lib; do
	mkdir -p "$rootfs$(dirname "$lib")"
	cp -L "$lib" "$rootfs$lib"
done
printf 'root:x:0:0:root:/:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\npostgres:x:999:\n' >"$rootfs/etc/group"
cat >"$rootfs/docker-entrypoint.sh" <<ENTRY
#!/bin/sh
# Initialises the data directory on first start, then runs the server
# with the image's arguments as extra settings. Only shell builtins here:
# the image has no other tools.
set -e
export PATH=$PG_BIN:/bin
if [ ! -s "\$PGDATA/PG_VERSION" ]; then
	if [ -n "\${POSTGRES_PASSWORD:-}" ]; then
		echo "\$POSTGRES_PASSWORD" | initdb -D "\$PGDATA" -U postgres -E UTF8 --locale=C --auth=scram-sha-256 --pwfile=/dev/stdin >/dev/null
	else
		initdb -D "\$PGDATA" -U postgres -E UTF8 --locale=C --auth=trust >/dev/null
	fi
	echo "initialised \$PGDATA" >&2
fi
# Who may connect, written on every start (so a start interrupted after
# initdb cannot leave a data directory that refuses everyone): local
# socket connections are trusted, network clients need the password when
# one is set.
method=trust
[ -n "\${POSTGRES_PASSWORD:-}" ] && method=scram-sha-256
echo "local all all trust" >/tmp/pg_hba.conf
echo "host all all all \$method" >>/tmp/pg_hba.conf
exec postgres -D "\$PGDATA" -c hba_file=/tmp/pg_hba.conf -c listen_addresses='*' -c unix_socket_directories=/tmp -c jit=off "\$@"
ENTRY
chmod 755 "$rootfs/docker-entrypoint.sh"
cp "$root/deploy/compose/Dockerfile.postgres" "$ctx/Dockerfile"
# The server binaries' directory differs by version: on PATH for `docker
# exec` (pg_isready, psql) and health checks.
echo "ENV PATH=$PG_BIN:/bin" >>"$ctx/Dockerfile"
if ! out=$(docker build --quiet -t "$tag" "$ctx" 2>&1); then
	printf '%s\n' "$out" >&2
	exit 1
fi
echo "$tag"
