#!/bin/sh
# Installs what nml's make targets need and this machine lacks; does nothing when all is there.
#   tools/deps.sh [5.1 5.2 5.3 5.4 luajit luajit2 ...] [+build] [+bench] [+python] [+media] [+luarocks] [+fuzz]
#   [+valgrind] [+lint] [+events] [+pki] [+nginx] [+faults]
# Debian packages come from apt-get. Python packages go into a venv under build/ made with
# Debian's own python3 (PEP 668: Debian's system Python refuses pip installs).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
venv="$top/build/venv"
apt_wanted=""
pip_wanted=""
want_fuzz=""
want_luajit2=""
want_nginx=""
want_apt() { apt_wanted="$apt_wanted $*"; }

for arg in "$@"; do
  case "$arg" in
    luajit) want_apt luajit libluajit-5.1-dev lua-busted ;;
    # OpenResty's LuaJIT: Debian's luajit2 conflicts with luajit, so it is unpacked, not installed
    luajit2) want_apt libluajit-5.1-dev lua-busted; want_luajit2=1 ;;
    5.1) want_apt lua5.1 liblua5.1-0-dev lua-busted ;; # liblua5.1-dev is a virtual package
    5.[2-4]) want_apt "lua$arg" "liblua$arg-dev" lua-busted ;;
    +build) want_apt cmake perl make ;; # nng-sys builds NNG with cmake, and OpenSSL (Configure is perl)
    +bench) want_apt lua-cjson lua-mpack lua-messagepack python3 python3-venv; pip_wanted="$pip_wanted matplotlib" ;;
    # libatomic1: nml_peer's shared buffers count holds with its atomics (it comes with gcc)
    +python) want_apt python3 python3-venv libatomic1; pip_wanted="$pip_wanted msgpack pynng pytest numpy" ;;
    +media) want_apt ffmpeg ;; # the video pipeline (examples/video): ffmpeg makes and encodes frames
    +luarocks) want_apt luarocks ;;
    +valgrind) want_apt valgrind ;;
    +lint) want_apt lua-check ;;
    +events) want_apt lua-luv lua-cqueues lua-copas lua-socket ;; # event loops and a stream host, for specs
    +pki) want_apt openssl ;; # the TLS specs make a throwaway CA
    +faults) want_apt iproute2 openssl ;; # faults/: hosts as network namespaces (ip netns), a CA
    # nginx with its Lua module, unpacked into build/nginx-root (below); what it links to from
    # the system is installed, and curl and wrk talk to it
    +nginx) want_apt libpcre3 libpcre2-8-0 libssl3 zlib1g libcrypt1 curl wrk; want_nginx=1 ;;
    +fuzz) want_fuzz=1 ;;
    *) echo "deps.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

missing=""
for pkg in $apt_wanted; do
  case " $missing " in *" $pkg "*) continue ;; esac
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $pkg"
  fi
done
if [ -n "$missing" ]; then
  echo "deps: installing Debian packages:$missing"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Debian's luajit2 package (OpenResty's LuaJIT, statically linked) unpacked into
# build/luajit2-root: the Makefile runs build/luajit2-root/usr/bin/luajit.
luajit2_root="$top/build/luajit2-root"
if [ -n "$want_luajit2" ] && [ ! -x "$luajit2_root/usr/bin/luajit" ]; then
  echo "deps: unpacking Debian's luajit2 (OpenResty's LuaJIT) into build/luajit2-root"
  debs=$(mktemp -d)
  (cd "$debs" && { apt-get download -qq luajit2 2>/dev/null || {
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"; $sudo apt-get update -qq && apt-get download -qq luajit2; }; })
  mkdir -p "$luajit2_root"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$luajit2_root"; done
  rm -rf "$debs"
  "$luajit2_root/usr/bin/luajit" -e 'require "table.nkeys"' || { echo "deps: build/luajit2-root is not OpenResty's LuaJIT" >&2; exit 1; }
fi

# Debian's nginx, its Lua module and lua-resty-core, unpacked into build/nginx-root: the Lua
# module needs OpenResty's LuaJIT (libluajit2-5.1-2), which conflicts with Debian's luajit, on
# which nml is tested too. spec/openresty_spec.lua runs build/nginx-root/usr/sbin/nginx.
nginx_root="$top/build/nginx-root"
nginx_debs="nginx libnginx-mod-http-ndk libnginx-mod-http-lua lua-resty-core lua-resty-lrucache libluajit2-5.1-2"
if [ -n "$want_nginx" ] && [ ! -f "$nginx_root/usr/lib/nginx/modules/ngx_http_lua_module.so" ]; then
  echo "deps: unpacking Debian's nginx, its Lua module and lua-resty-core into build/nginx-root"
  debs=$(mktemp -d)
  chmod 755 "$debs" # apt-get download runs as _apt where it can
  (cd "$debs" && { apt-get download -qq $nginx_debs 2>/dev/null || {
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"; $sudo apt-get update -qq && apt-get download -qq $nginx_debs; }; })
  mkdir -p "$nginx_root"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$nginx_root"; done
  rm -rf "$debs"
  LD_LIBRARY_PATH="$nginx_root/usr/lib/x86_64-linux-gnu" "$nginx_root/usr/sbin/nginx" -v 2>/dev/null \
    || { echo "deps: build/nginx-root/usr/sbin/nginx does not run" >&2; exit 1; }
fi

if [ -n "$want_fuzz" ]; then
  if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "deps: cargo fuzz needs the nightly Rust toolchain (rustup toolchain install nightly)" >&2
    exit 1
  fi
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "deps: installing cargo-fuzz"
    cargo install -q --locked cargo-fuzz
  fi
fi

[ -n "$pip_wanted" ] || exit 0
if [ ! -x "$venv/bin/python3" ]; then
  echo "deps: making a Python venv in build/venv"
  /usr/bin/python3 -m venv "$venv"
fi
for mod in $pip_wanted; do
  if ! "$venv/bin/python3" -c "import $mod" 2>/dev/null; then
    echo "deps: installing Python package $mod into build/venv"
    "$venv/bin/python3" -m pip install -q --disable-pip-version-check "$mod"
  fi
done
