#!/usr/bin/env bash
# make dist: the Windows MSI and the Debian package of the kit, built on
# this (Debian 12, amd64) machine into $OUT (dist/). make dist installs the
# Debian packages this needs (gcc-mingw-w64-x86-64, wixl, msitools) and
# sets VERSION (git describe), MSI_VERSION and DEB_VERSION.
#
#   $OUT/buergerkoffer-$VERSION-x64.msi      per-machine installer
#   $OUT/buergerkoffer_$DEB_VERSION_amd64.deb
#   $OUT/windows/*.exe, $OUT/linux/*          the programs in them
#
# The Windows app is a cgo cross-build with mingw (Fyne needs cgo for
# OpenGL); syncd and hwtool are pure Go. Go's build cache keeps the
# compiled packages, so only the first build on a machine is slow.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${GO:=go}" "${OUT:=dist}" "${VERSION:?}" "${MSI_VERSION:?}" "${DEB_VERSION:?}"
here=assets/dist
pkg=github.com/buergerkoffer/kit/internal/version
ldflags="-s -w -X $pkg.version=$VERSION"
rm -rf "$OUT/windows" "$OUT/linux" "$OUT/deb" "$OUT/msi"
mkdir -p "$OUT/windows" "$OUT/linux" "$OUT/msi"

step() { printf '%s dist: %s\n' "$(date +%T)" "$*"; }

step "Linux programs ($VERSION)"
$GO build -ldflags "$ldflags" -o "$OUT/linux/buergerkoffer" ./app
CGO_ENABLED=0 $GO build -ldflags "$ldflags" -o "$OUT/linux/" ./syncd ./hardware/cmd/hwtool

step "Windows programs"
# The app's icon and version resource (from FyneApp.toml's icon), as a
# .syso that the Go linker takes from the package folder; removed again
# so that no other build picks it up.
syso=app/rsrc_windows_amd64.syso
trap 'rm -f "$syso"' EXIT
$GO tool go-winres simply --arch amd64 --out app/rsrc --manifest gui \
	--icon assets/icon.png --product-name "Bürgerkoffer" --file-description "Bürgerkoffer" \
	--product-version "$VERSION" --file-version "$MSI_VERSION.0" \
	--original-filename buergerkoffer.exe --copyright "Bürgerkoffer"
CC=x86_64-w64-mingw32-gcc CGO_ENABLED=1 GOOS=windows GOARCH=amd64 \
	$GO build -ldflags "$ldflags -H=windowsgui" -o "$OUT/windows/buergerkoffer.exe" ./app
rm -f "$syso"
CGO_ENABLED=0 GOOS=windows GOARCH=amd64 $GO build -ldflags "$ldflags" -o "$OUT/windows/" ./syncd ./hardware/cmd/hwtool

step "MSI"
# An .ico holding the PNG as it is (Windows Vista and later read those):
# ICONDIR, one ICONDIRENTRY (256x256, 32 bit, at offset 22), the PNG.
size=$(stat -c %s assets/icon.png)
le=$(printf '%08x' "$size" | sed 's/\(..\)\(..\)\(..\)\(..\)/\\x\4\\x\3\\x\2\\x\1/')
{ printf '\000\000\001\000\001\000\000\000\000\000\001\000\040\000'; printf "$le"; printf '\026\000\000\000'; cat assets/icon.png; } > "$OUT/msi/buergerkoffer.ico"
cp "$here/buergerkoffer.wxs" "$OUT/windows/"*.exe "$OUT/msi/"
msi="buergerkoffer-$VERSION-x64.msi"
rm -f "$OUT"/buergerkoffer-*-x64.msi
# wixl resolves sources relative to the working folder.
(cd "$OUT/msi" && wixl -a x64 -D Version="$VERSION" -D MsiVersion="$MSI_VERSION" -D Bin=. -D Icon=buergerkoffer.ico \
	-o "../$msi" buergerkoffer.wxs 2>&1 | { grep -v 'WixlWixPackage\|^$' || true; })
[ -s "$OUT/$msi" ] || { echo "dist: wixl made no MSI" >&2; exit 1; }
# wixl 0.101 ignores Permanent="yes": mark the data folder's component
# permanent (msidbComponentAttributesPermanent 0x10, beside 64-bit 0x100),
# so no uninstall ever removes the field store's folder.
msibuild "$OUT/$msi" -q "UPDATE \`Component\` SET \`Attributes\` = 272 WHERE \`Component\` = 'Data'"

step "Debian package ($DEB_VERSION)"
root="$OUT/deb/buergerkoffer"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/applications" \
	"$root/usr/share/icons/hicolor/256x256/apps" "$root/lib/systemd/system" "$root/usr/share/doc/buergerkoffer"
install -m 0755 "$OUT/linux/buergerkoffer" "$OUT/linux/syncd" "$OUT/linux/hwtool" "$root/usr/bin/"
install -m 0644 "$here/buergerkoffer.desktop" "$root/usr/share/applications/de.buergerkoffer.kit.desktop"
install -m 0644 assets/icon.png "$root/usr/share/icons/hicolor/256x256/apps/de.buergerkoffer.kit.png"
install -m 0644 "$here/buergerkoffer-agent.service" "$root/lib/systemd/system/"
install -m 0644 README.md "$root/usr/share/doc/buergerkoffer/README.md"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$root/DEBIAN/"
kib=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$DEB_VERSION/" -e "s/@SIZE@/$kib/" "$here/debian/control" > "$root/DEBIAN/control"
rm -f "$OUT"/buergerkoffer_*_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$OUT/buergerkoffer_${DEB_VERSION}_amd64.deb" >/dev/null
rm -rf "$OUT/deb" "$OUT/msi"

step "done"
ls -l "$OUT/$msi" "$OUT/buergerkoffer_${DEB_VERSION}_amd64.deb"
