#!/usr/bin/env bash
# Builds berth-test/busybox:latest, the image Berth's tests run (no registry is reachable from the test machines):
# a root filesystem holding Debian's static busybox and one /bin symlink per applet, imported with `docker import`.
# Idempotent: the image carries this script's sha256 as a label and is only rebuilt when the script changes.
# Prints the image id.
set -euo pipefail

image=berth-test/busybox:latest
script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)

# Test binaries may run this concurrently; one build at a time.
exec 9>"${TMPDIR:-/tmp}/berth-test-images.lock"
flock 9

current=$(docker image inspect "$image" --format '{{index .Config.Labels "berth.test-image"}}' 2>/dev/null || true)
if [[ "$current" == "$script_hash" ]]; then
    docker image inspect "$image" --format '{{.Id}}'
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The busybox package (not -static) also installs a /bin/busybox, dynamically linked: useless in an empty rootfs.
if [[ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)" == "install ok installed" ]]; then
    busybox=/bin/busybox
else
    mkdir "$work/deb"
    # apt drops to the _apt user for downloads; let it write here (it warns and falls back to root otherwise).
    chown _apt "$work/deb" 2>/dev/null || true
    if ! (cd "$work/deb" && apt-get download -qq busybox-static) >/dev/null 2>&1; then
        apt-get update -qq
        (cd "$work/deb" && apt-get download -qq busybox-static) >/dev/null
    fi
    dpkg-deb -x "$work"/deb/busybox-static_*.deb "$work/pkg"
    busybox="$work/pkg/bin/busybox"
fi

rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,www,root,home/app}
install -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [[ "$applet" == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
done

cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
app:x:1000:
nogroup:x:65534:
GROUP
: >"$rootfs/etc/hosts"
: >"$rootfs/etc/resolv.conf"
echo "berth ok" >"$rootfs/www/index.html"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
chown 1000:1000 "$rootfs/home/app"

tar --numeric-owner -C "$rootfs" -c . |
    docker import \
        --change 'CMD ["sh"]' \
        --change "LABEL berth.test-image=$script_hash" \
        - "$image" >/dev/null
docker image inspect "$image" --format '{{.Id}}'
