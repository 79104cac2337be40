# SPDX-License-Identifier: GPL-2.0
# Shared settings for the build and boot tools. Source it; do not run it.
#
# Everything generated lives under $CACHE (git-ignored):
#   $CACHE/src/ours       linux-source-6.12 with our iommufd in place
#   $CACHE/src/upstream   linux-source-6.12 untouched
#   $CACHE/build/<kind>   O= build directory per kernel kind
#   $CACHE/ccache         compiler cache shared by all builds
#   $CACHE/tests          statically linked test programs for the guest

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${IOMMUFD_CACHE:-$ROOT/.cache}
TARBALL=${IOMMUFD_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
JOBS=${JOBS:-$(( $(nproc) + 1 ))}

export CCACHE_DIR=$CACHE/ccache
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Fixed build identity: identical inputs give identical objects, so ccache
# hits and rebuilds stay incremental.
export KBUILD_BUILD_TIMESTAMP='2024-01-01'
export KBUILD_BUILD_USER=iommufd
export KBUILD_BUILD_HOST=build

# The three kernels. "upstream" is the perf configuration on the untouched
# tree, for side-by-side comparison.
kind_tree() {
	case $1 in
	debug|perf|lint) echo "$CACHE/src/ours" ;;
	upstream) echo "$CACHE/src/upstream" ;;
	*) die "unknown kernel kind '$1' (want debug, perf, upstream or lint)" ;;
	esac
}

kind_fragments() {
	case $1 in
	debug) echo "$ROOT/tools/kconfig/base.config $ROOT/tools/kconfig/debug.config" ;;
	perf) echo "$ROOT/tools/kconfig/base.config $ROOT/tools/kconfig/perf.config" ;;
	upstream) echo "$ROOT/tools/kconfig/base.config $ROOT/tools/kconfig/perf.config $ROOT/tools/kconfig/upstream.config" ;;
	lint) echo "$ROOT/tools/kconfig/base.config $ROOT/tools/kconfig/perf.config $ROOT/tools/kconfig/lint.config" ;;
	esac
}

kind_out() { echo "$CACHE/build/$1"; }

die() { echo "error: $*" >&2; exit 1; }
note() { echo "==> $*" >&2; }

# A short name for the state of our tree: the commit plus "-dirty" when the
# working tree differs from it. The guest prints it at boot.
tree_id() {
	local id
	id=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo nogit)
	if [ -n "$(git -C "$ROOT" status --porcelain -- . ':!.cache' 2>/dev/null)" ]; then
		id=$id-dirty
	fi
	echo "$id"
}
