#!/usr/bin/env bash
# Builds the binaries of a real Kubernetes test cluster from the Go module
# proxy (no prebuilt downloads exist on these machines) and caches them in a
# versioned folder, rebuilding only what is missing:
#
#   e2e/kube-env.sh build          build tier 1 into $(e2e/kube-env.sh dir) if missing
#   e2e/kube-env.sh build-kubelet  build the kubelet (tier 2) into the same folder if missing
#   e2e/kube-env.sh dir            print the cache folder
#
# The Kubernetes tests (internal/driver/kubedriver, internal/e2e) start etcd,
# kube-apiserver, kube-scheduler and kwok from that folder (tier 1: fake
# nodes, no root). They find it through ECSD_KUBE_BIN or the same default as
# this script. Tier 2 (kubetest.StartKubelet: a real kubelet running real
# containers, root only) also needs the kubelet, built by its own step so
# that tier 1 is not kept waiting for it, and Debian's
# containernetworking-plugins (/usr/lib/cni). Each binary is built in a
# throwaway module of its own, never in the project's go.mod
# (k8s.io/kubernetes is not meant to be depended on: its go.mod replaces 31
# staging modules, see ../shared/kubernetes-test-env.md).
set -euo pipefail

K8S_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.7.3
KWOK_VERSION=v0.8.0

dir="${ECSD_KUBE_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/ecsd-test/k8s-${K8S_VERSION}}"

cmd="${1:-build}"
case "$cmd" in
dir) echo "$dir"; exit 0 ;;
build | build-kubelet) ;;
*) echo "usage: $0 build|build-kubelet|dir" >&2; exit 2 ;;
esac

mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
start=$SECONDS

# build_kube CMD... builds k8s.io/kubernetes/cmd/CMD for each CMD into $dir.
build_kube() {
	local m="$work/kube-$1"
	mkdir -p "$m" && cd "$m"
	go mod init ecsd-kube-env >/dev/null 2>&1
	{
		printf '//go:build tools\n\npackage tools\n\nimport (\n'
		for c in "$@"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
		printf ')\n'
	} >tools.go
	# k8s.io/kubernetes replaces its staging modules with ./staging/...,
	# which dependents ignore: pin each to the matching release.
	local staging="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
		cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client
		cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
		kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
		sample-apiserver streaming"
	for s in $staging; do
		go mod edit -replace "k8s.io/$s=k8s.io/$s@$STAGING_VERSION"
	done
	go mod edit -require "k8s.io/kubernetes@$K8S_VERSION"
	go mod tidy -e >/dev/null 2>"$work/tidy.log" || { cat "$work/tidy.log" >&2; return 1; }
	local v=k8s.io/component-base/version
	# Without the version stamp the server reports v0.0.0-master+$Format:%H$,
	# which clients cannot parse.
	local pkgs=() c
	for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
	go build -trimpath -o "$work/out-$1/" \
		-ldflags "-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=37" "${pkgs[@]}"
	for c in "$@"; do mv "$work/out-$1/$c" "$dir/"; done
}

build_etcd() {
	local m="$work/etcd"
	mkdir -p "$m" && cd "$m"
	go mod init ecsd-etcd-env >/dev/null 2>&1
	# go install etcd@version is refused (its go.mod has replace directives):
	# require its modules at one release instead.
	for p in server api client/pkg client pkg; do
		go mod edit -require "go.etcd.io/etcd/$p/v3@$ETCD_VERSION"
	done
	cat >tools.go <<'EOF'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
	go mod tidy -e >/dev/null 2>"$work/etcd-tidy.log" || { cat "$work/etcd-tidy.log" >&2; return 1; }
	go build -trimpath -ldflags "-s -w" -o "$dir/etcd" go.etcd.io/etcd/server/v3
}

build_kwok() {
	GOBIN="$work/kwokbin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	# kwok refuses to start without stages: it ships them in its module.
	local src
	src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
	{
		for f in "$src"/node/fast/*.yaml "$src"/node/heartbeat-with-lease/*.yaml "$src"/pod/fast/*.yaml; do
			case "$f" in */kustomization.yaml) continue ;; esac
			cat "$f"
			echo "---"
		done
	} >"$work/kwok-stages.yaml"
	mv "$work/kwok-stages.yaml" "$dir/kwok-stages.yaml"
	mv "$work/kwokbin/kwok" "$dir/kwok"
}

if [ "$cmd" = build-kubelet ]; then
	[ -x "$dir/kubelet" ] || (build_kube kubelet) || { echo "kube-env: kubelet build failed" >&2; exit 1; }
	echo "kube-env: kubelet ready in $dir ($((SECONDS - start))s)"
	exit 0
fi
[ -x "$dir/etcd" ] || (build_etcd) || { echo "kube-env: etcd build failed" >&2; exit 1; }
[ -x "$dir/kwok" ] && [ -s "$dir/kwok-stages.yaml" ] || (build_kwok) || { echo "kube-env: kwok build failed" >&2; exit 1; }
[ -x "$dir/kube-apiserver" ] && [ -x "$dir/kube-scheduler" ] || (build_kube kube-apiserver kube-scheduler) ||
	{ echo "kube-env: kube-apiserver build failed" >&2; exit 1; }
echo "kube-env: binaries ready in $dir ($((SECONDS - start))s)"
