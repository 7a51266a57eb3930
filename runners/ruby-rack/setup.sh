#!/bin/sh
# Installs the runner's Debian packages (RubyGems is not used), only those that are missing.
# Safe to re-run: with everything installed it does nothing.
#
# Versions are pinned to the ones the runner was tested with (Debian 12 "bookworm"). A security
# update may drop a pinned version from the mirror; the candidate version is installed then,
# with a warning.
set -eu

PACKAGES="
ruby=1:3.1
ruby-rack=2.2.22-0+deb12u2
puma=5.6.5-3+deb12u2
ruby-faye-websocket=0.11.0-1
ruby-websocket-driver=0.6.3-3+b5
ruby-eventmachine=1.3~pre20220315-df4ab006-3
ruby-json-schemer=0.2.18-2
"

missing=""
for spec in $PACKAGES; do
  name=${spec%%=*}
  if ! dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $spec"
  fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
install=""
for spec in $missing; do
  name=${spec%%=*}
  version=${spec#*=}
  if apt-cache madison "$name" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$version"; then
    install="$install $spec"
  else
    echo "setup.sh: warning: $name $version is no longer offered; installing the candidate" >&2
    install="$install $name"
  fi
done
echo "setup.sh: installing$install" >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $install >/dev/null
