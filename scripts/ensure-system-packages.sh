#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real peers, only where they are missing,
# so a developer machine that already has them is left alone and a fresh one gets them in one step.
set -euo pipefail

# "probe|package": the probe is a command or a file whose presence proves the package is installed.
wanted=(
  "redis-server|redis-server"
  "/usr/sbin/nginx|nginx"
  "/usr/bin/chromium|chromium"
  "/usr/lib/python3/dist-packages/websockets|python3-websockets"
  "/usr/lib/python3/dist-packages/ws4py|python3-ws4py"
  "/usr/lib/python3/dist-packages/autobahn|python3-autobahn"
  "/usr/include/libwebsockets.h|libwebsockets-dev"
  "/usr/include/websocketpp/server.hpp|libwebsocketpp-dev"
  "/usr/include/boost/version.hpp|libboost-dev"
  "/usr/sbin/apache2|apache2"
  "/usr/sbin/lighttpd|lighttpd"
  "g++|g++"
  "gcc|gcc"
  "pkg-config|pkg-config"
  "/usr/include/zlib.h|zlib1g-dev"
  "openssl|openssl"
)

missing=()
for entry in "${wanted[@]}"; do
  probe=${entry%%|*}
  package=${entry##*|}
  if [[ $probe == /* ]]; then
    [[ -e $probe ]] || missing+=("$package")
  else
    command -v "$probe" >/dev/null 2>&1 || missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "system packages: all present"
  exit 0
fi

echo "system packages: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: done"
