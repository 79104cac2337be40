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

# The kernels. "upstream" is the perf configuration on the untouched tree,
# for side-by-side comparison; "lint" is perf's configuration in a build
# directory of its own. A kind ending in "-arm64" is the same kind
# cross-built for arm64 (debug-arm64, perf-arm64, upstream-arm64). "l2" is
# the small kernel of the guest QEMU 10 runs inside ours (tools/nested),
# built from the untouched tree with tools/kconfig/l2.config alone.
KINDS="debug perf upstream lint debug-arm64 perf-arm64 upstream-arm64 l2"

kind_check() {
	case " $KINDS " in
	*" $1 "*) ;;
	*) die "unknown kernel kind '$1' (want one of: $KINDS)" ;;
	esac
}

# x86 or arm64
kind_arch() {
	case $1 in
	*-arm64) echo arm64 ;;
	*) echo x86 ;;
	esac
}

kind_tree() {
	kind_check "$1"
	case ${1%-arm64} in
	upstream|l2) echo "$CACHE/src/upstream" ;;
	*) echo "$CACHE/src/ours" ;;
	esac
}

# base, then the architecture's, then the kind's own fragments, then the
# kind's fragment for that architecture if there is one.
kind_fragments() {
	local k=$1 arch f frags
	kind_check "$k"
	if [ "$k" = l2 ]; then
		echo "$ROOT/tools/kconfig/l2.config"
		return
	fi
	arch=$(kind_arch "$k")
	k=${k%-arm64}
	frags="$ROOT/tools/kconfig/base.config $ROOT/tools/kconfig/$arch.config"
	case $k in
	debug) set -- debug ;;
	perf|lint) set -- perf ;;
	upstream) set -- perf upstream ;;
	esac
	for f in "$@"; do
		frags+=" $ROOT/tools/kconfig/$f.config"
		[ ! -f "$ROOT/tools/kconfig/$f-$arch.config" ] ||
			frags+=" $ROOT/tools/kconfig/$f-$arch.config"
	done
	echo "$frags"
}

# The cross-compiler prefix of a kind ("" for x86, built natively).
kind_cross() {
	case $(kind_arch "$1") in
	arm64) echo aarch64-linux-gnu- ;;
	esac
}

# The bootable image, relative to the build directory.
kind_image() {
	case $(kind_arch "$1") in
	arm64) echo arch/arm64/boot/Image ;;
	*) echo arch/x86/boot/bzImage ;;
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
