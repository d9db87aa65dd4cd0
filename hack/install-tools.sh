#!/usr/bin/env bash
# Builds the binaries used by the test environment (internal/testenv) into
# ${CAPSTAN_TOOLS:-<repo>/.cache}/bin:
#
#   etcd                      from the tool module hack/tools/etcd
#   kube-apiserver,
#   kube-controller-manager,
#   kube-scheduler, kubectl   from the tool module hack/tools/kube
#   kwok, helm                with `go install <pkg>@<version>`
#   prometheus, promtool      from the tool module hack/tools/prometheus, without
#                             the service-discovery plugins and the web UI assets
#                             (tests use static targets and the HTTP API); when
#                             that build fails, from Debian's package prometheus
#                             (installed with apt-get when running as root).
#                             promtool is built only when named. Set
#                             CAPSTAN_PROMETHEUS_SOURCE=debian to skip the build.
#
# Idempotent: every binary has a stamp file recording what it was built from;
# a binary is rebuilt only when it is missing or its stamp differs (for
# example after a version bump). A run with nothing to do takes a second.
#
# Usage: hack/install-tools.sh [NAME...]   (default: all tools)
# Set CAPSTAN_INSTALL_QUIET=1 to print only what is being built.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CAPSTAN_LOG_PREFIX=install-tools

KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0
# Bump RECIPE to force a rebuild of everything when the build commands change.
RECIPE=1
ALL_TOOLS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm prometheus)
KNOWN_TOOLS=("${ALL_TOOLS[@]}" promtool)

ROOT=$(capstan::repo_root)
TOOLS=$(capstan::tools_dir)
BIN="$TOOLS/bin"
ETCD_MOD_DIR="$ROOT/hack/tools/etcd"
KUBE_MOD_DIR="$ROOT/hack/tools/kube"
PROM_MOD_DIR="$ROOT/hack/tools/prometheus"

capstan::require_cmd go flock
mkdir -p "$BIN"
# The tool modules and `go install pkg@version` must not see a workspace or
# flags such as -mod=vendor from the caller.
export GOWORK=off GOFLAGS=

# stamp_of NAME prints the stamp line describing how NAME is built.
stamp_of() {
	case "$1" in
	etcd) echo "etcd $(capstan::module_version "$ETCD_MOD_DIR" go.etcd.io/etcd/server/v3) recipe=$RECIPE" ;;
	kube-* | kubectl) echo "$1 $(capstan::module_version "$KUBE_MOD_DIR" k8s.io/kubernetes) recipe=$RECIPE" ;;
	kwok) echo "kwok $KWOK_VERSION recipe=$RECIPE" ;;
	helm) echo "helm $HELM_VERSION recipe=$RECIPE" ;;
	prometheus | promtool)
		if [[ ${CAPSTAN_PROMETHEUS_SOURCE:-module} == debian ]]; then
			echo "$1 debian recipe=$RECIPE"
		else
			echo "$1 $(capstan::module_version "$PROM_MOD_DIR" github.com/prometheus/prometheus) recipe=$RECIPE"
		fi ;;
	*) capstan::die "unknown tool '$1' (known: ${KNOWN_TOOLS[*]})" ;;
	esac
}

# kube_ldflags VERSION prints the -X flags that stamp the Kubernetes version
# into the binaries (plain `go build` would report v0.0.0-master).
kube_ldflags() {
	local v=$1 pkg=k8s.io/component-base/version minor
	minor=$(echo "$v" | cut -d. -f2)
	echo "-X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor" \
		"-X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

# build NAME OUT builds tool NAME into the file OUT.
build() {
	local name=$1 out=$2 gobin
	case "$name" in
	etcd)
		(cd "$ETCD_MOD_DIR" && go build -o "$out" go.etcd.io/etcd/server/v3) ;;
	kube-* | kubectl)
		local v
		v=$(capstan::module_version "$KUBE_MOD_DIR" k8s.io/kubernetes)
		(cd "$KUBE_MOD_DIR" && go build -ldflags "$(kube_ldflags "$v")" -o "$out" "k8s.io/kubernetes/cmd/$name") ;;
	kwok | helm)
		local pkg=sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION
		[[ $name == helm ]] && pkg=helm.sh/helm/v3/cmd/helm@$HELM_VERSION
		gobin=$(mktemp -d "$BIN/.gobin.XXXXXX")
		(cd "$TOOLS" && GOBIN="$gobin" go install "$pkg") || { rm -rf "$gobin"; return 1; }
		mv "$gobin/$name" "$out" && rm -rf "$gobin" ;;
	prometheus | promtool)
		if [[ ${CAPSTAN_PROMETHEUS_SOURCE:-module} == debian ]]; then
			debian_prometheus "$name" "$out"
			return
		fi
		# remove_all_sd leaves out the cloud service-discovery plugins (most of the build).
		(cd "$PROM_MOD_DIR" && go build -tags remove_all_sd -ldflags "$(prometheus_ldflags)" \
			-o "$out" "github.com/prometheus/prometheus/cmd/$name") ||
			debian_prometheus "$name" "$out" ;;
	esac
}

# prometheus_ldflags prints the -X flags that stamp the release into the
# Prometheus binaries: module version v0.3XX.Y is release 3.XX.Y.
prometheus_ldflags() {
	local v minor pkg=github.com/prometheus/common/version
	v=$(capstan::module_version "$PROM_MOD_DIR" github.com/prometheus/prometheus)
	minor=${v#v0.3}
	echo "-X $pkg.Version=3.$((10#${minor%%.*})).${minor#*.} -X $pkg.Revision=module-$v -X $pkg.Branch=module"
}

# debian_prometheus NAME OUT copies NAME (prometheus or promtool) from Debian's
# package prometheus to OUT, installing the package first when running as root.
debian_prometheus() {
	local name=$1 out=$2
	[[ ${CAPSTAN_PROMETHEUS_SOURCE:-module} == debian ]] ||
		capstan::log "building $name from the Go module failed; using Debian's package prometheus"
	if [[ ! -x /usr/bin/$name ]]; then
		if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
			capstan::log "/usr/bin/$name is missing: install the Debian package prometheus"
			return 1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus >&2 ||
			{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus >&2; } || return 1
	fi
	cp "/usr/bin/$name" "$out"
}

# ensure NAME builds NAME unless an up-to-date binary is already present.
ensure() {
	local name=$1 want have tmp start
	want=$(stamp_of "$name")
	have=$(cat "$BIN/.$name.stamp" 2>/dev/null || true)
	if [[ -x "$BIN/$name" && "$have" == "$want" ]]; then
		[[ "${CAPSTAN_INSTALL_QUIET:-}" == 1 ]] || capstan::log "$name up to date ($want)"
		return
	fi
	capstan::log "building $name ($want) ..."
	start=$SECONDS
	tmp="$BIN/.$name.tmp.$$"
	rm -f "$BIN/.$name.stamp"
	build "$name" "$tmp" || { rm -f "$tmp"; capstan::die "building $name failed"; }
	mv -f "$tmp" "$BIN/$name"
	echo "$want" >"$BIN/.$name.stamp"
	capstan::log "built $BIN/$name in $((SECONDS - start))s"
}

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=("${ALL_TOOLS[@]}")

# Serialise concurrent runs (for example several test packages starting at once).
exec 9>"$BIN/.install.lock"
if ! flock -n 9; then
	capstan::log "another install-tools run holds $BIN/.install.lock; waiting ..."
	flock 9
fi
for t in "${tools[@]}"; do
	ensure "$t"
done
[[ "${CAPSTAN_INSTALL_QUIET:-}" == 1 ]] || capstan::log "all tools ready in $BIN"
