#!/usr/bin/env bash
# Shared shell helpers for the scripts in hack/. Source it; do not execute it.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# capstan::log prints an informational message to stderr.
capstan::log() {
	printf '[%s] %s\n' "${CAPSTAN_LOG_PREFIX:-capstan}" "$*" >&2
}

# capstan::die prints an error message to stderr and exits with status 1.
capstan::die() {
	printf '[%s] ERROR: %s\n' "${CAPSTAN_LOG_PREFIX:-capstan}" "$*" >&2
	exit 1
}

# capstan::repo_root prints the absolute path of the repository root.
capstan::repo_root() {
	(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
}

# capstan::tools_dir prints the tools directory (CAPSTAN_TOOLS, default <repo>/.cache).
capstan::tools_dir() {
	printf '%s\n' "${CAPSTAN_TOOLS:-$(capstan::repo_root)/.cache}"
}

# capstan::require_cmd fails unless every named command is on PATH.
capstan::require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || capstan::die "required command '$c' not found on PATH"
	done
}

# capstan::module_version DIR MODULE prints the version of MODULE required by
# the go.mod in DIR (the tool modules pin their binaries this way).
capstan::module_version() {
	local dir=$1 mod=$2 v
	v=$(cd "$dir" && GOWORK=off GOFLAGS= go list -m -f '{{.Version}}' "$mod") ||
		capstan::die "cannot read the version of $mod from $dir/go.mod"
	[[ -n "$v" ]] || capstan::die "$mod has no version in $dir/go.mod"
	printf '%s\n' "$v"
}
