#!/usr/bin/env bash
# Prepares a Raspberry Pi OS (Lite, 64-bit) for the oshirase kiosk: a system user, its data
# folder, the Japanese font, time synchronisation, no screen blanking, the systemd unit.
# Run as root on the Pi, with the oshirase-kiosk binary next to this script or already in
# /usr/local/bin. Then pair the kiosk (see the unit file) and start it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-ipaexfont-gothic systemd-timesyncd

if ! id oshirase-kiosk >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/oshirase-kiosk --shell /usr/sbin/nologin oshirase-kiosk
fi
usermod -a -G video oshirase-kiosk
getent group gpio >/dev/null && usermod -a -G gpio oshirase-kiosk
install -d -o oshirase-kiosk -g oshirase-kiosk -m 0700 /var/lib/oshirase-kiosk

if [ -f "$here/oshirase-kiosk" ]; then
    install -m 0755 "$here/oshirase-kiosk" /usr/local/bin/oshirase-kiosk
fi

# The Pi has no real-time clock: synchronise time over the network. Until the clock is
# trusted the kiosk shows a clock screen instead of codes the server would refuse.
systemctl enable --now systemd-timesyncd

# No console blanking on the kiosk screen, and no blinking cursor over the QR code.
cmdline=/boot/firmware/cmdline.txt
[ -f "$cmdline" ] || cmdline=/boot/cmdline.txt
if [ -f "$cmdline" ] && ! grep -q "consoleblank=0" "$cmdline"; then
    sed -i '1 s/$/ consoleblank=0 vt.global_cursor_default=0/' "$cmdline"
fi

install -m 0644 "$here/../systemd/oshirase-kiosk.service" /etc/systemd/system/oshirase-kiosk.service
# Camera and GPIO options (passes); an edited file is kept.
[ -f /etc/default/oshirase-kiosk ] || install -m 0644 "$here/../debian/default" /etc/default/oshirase-kiosk
systemctl daemon-reload
systemctl enable oshirase-kiosk.service
echo "Set up. Pair the kiosk, then: systemctl start oshirase-kiosk"
