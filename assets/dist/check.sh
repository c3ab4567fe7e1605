#!/usr/bin/env bash
# make test: checks what make dist wrote into $1 (dist/). The MSI by its
# tables (msiinfo) and files (msiextract); the Debian package by its
# metadata and contents (dpkg-deb), then by installing and removing it on
# this machine (dpkg -i, -r, -P; root or sudo): the agent's unit must
# verify (systemd-analyze verify, which reads unit files without systemd
# running), the programs must print the version, and the field store must
# still be there after removal and purge. The install check is skipped, with
# a note, on a machine where the kit is installed for real.
set -euo pipefail
out=${1:-dist}
version=${VERSION:?}
fail() { echo "check dist: $*" >&2; exit 1; }
has() { grep -qF -- "$2" <<<"$1" || fail "$3: no \"$2\" in:"$'\n'"$1"; }
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# --- the MSI ---------------------------------------------------------------
msi=$(ls "$out"/buergerkoffer-*-x64.msi) || fail "no MSI in $out"
tables=$(msiinfo tables "$msi")
for t in File Component ServiceInstall ServiceControl Shortcut CreateFolder Upgrade Icon; do
	grep -qx "$t" <<<"$tables" || fail "MSI has no $t table"
done
files=$(msiinfo export "$msi" File)
for f in buergerkoffer.exe syncd.exe hwtool.exe; do has "$files" "$f" "MSI File table"; done
svc=$(msiinfo export "$msi" ServiceInstall | grep '^AgentService')
# Name, display name, own process (16), automatic (2), LocalSystem, "agent".
awk -F'\t' '$2=="BuergerkofferSync" && $4==16 && $5==2 && $9=="LocalSystem" && $11=="agent" {ok=1} END {exit !ok}' <<<"$svc" ||
	fail "ServiceInstall: $svc"
ctl=$(msiinfo export "$msi" ServiceControl | grep '^AgentControl')
# Start at install (1), stop at install and uninstall (2, 0x20), delete at uninstall (0x80).
awk -F'\t' '$2=="BuergerkofferSync" && $3==163 {ok=1} END {exit !ok}' <<<"$ctl" || fail "ServiceControl: $ctl"
has "$(msiinfo export "$msi" Shortcut)" "[INSTALLDIR]buergerkoffer.exe" "MSI Shortcut table"
# The data folder's component: 64-bit and permanent (0x110).
awk -F'\t' '$1=="Data" && $3=="DATADIR" && $4==272 {ok=1} END {exit !ok}' <<<"$(msiinfo export "$msi" Component)" ||
	fail "the data folder's component is not permanent"
has "$(msiinfo export "$msi" Directory)" "CommonAppDataFolder" "MSI Directory table"
props=$(msiinfo export "$msi" Property)
has "$props" $'ALLUSERS\t1' "MSI Property table (per machine)"
has "$props" "UpgradeCode" "MSI Property table"
# The files in the MSI are the ones built; the app is a GUI program
# (PE subsystem 2), syncd a console one (3), all x64 (0x8664).
msiextract -C "$tmp/msi" "$msi" >/dev/null
pe() { # file -> "machine subsystem"
	local off; off=$(od -An -tu4 -j60 -N4 "$1" | tr -d ' ')
	echo "$(od -An -tx2 -j$((off + 4)) -N2 "$1" | tr -d ' ') $(od -An -tu2 -j$((off + 92)) -N2 "$1" | tr -d ' ')"
}
for f in buergerkoffer.exe syncd.exe hwtool.exe; do
	got=$(find "$tmp/msi" -name "$f" | head -1)
	[ -n "$got" ] || fail "msiextract: no $f"
	cmp -s "$got" "$out/windows/$f" || fail "$f in the MSI differs from $out/windows/$f"
	grep -qaF -- "$version" "$got" || fail "$f does not carry version $version"
done
[ "$(pe "$out/windows/buergerkoffer.exe")" = "8664 2" ] || fail "buergerkoffer.exe: PE $(pe "$out/windows/buergerkoffer.exe"), want x64 GUI"
[ "$(pe "$out/windows/syncd.exe")" = "8664 3" ] || fail "syncd.exe: PE $(pe "$out/windows/syncd.exe"), want x64 console"
# The app's resource (go-winres): version information naming the release,
# and the icon.
utf16() { sed 's/./&\\x00/g' <<<"$1"; }
LC_ALL=C grep -qaP "$(utf16 VS_VERSION_INFO)" "$out/windows/buergerkoffer.exe" || fail "buergerkoffer.exe has no version resource"
LC_ALL=C grep -qaP "$(utf16 "$version")" "$out/windows/buergerkoffer.exe" || fail "buergerkoffer.exe's version resource does not name $version"
echo "check dist: MSI ok ($(du -h "$msi" | cut -f1), $(basename "$msi"))"

# --- the Debian package ----------------------------------------------------
deb=$(ls "$out"/buergerkoffer_*_amd64.deb) || fail "no .deb in $out"
info=$(dpkg-deb --info "$deb")
for w in "Package: buergerkoffer" "Architecture: amd64" "Depends:" " postinst" " prerm" " postrm"; do
	has "$info" "$w" "dpkg-deb --info"
done
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/buergerkoffer ./usr/bin/syncd ./usr/bin/hwtool ./usr/share/applications/de.buergerkoffer.kit.desktop \
	./usr/share/icons/hicolor/256x256/apps/de.buergerkoffer.kit.png ./lib/systemd/system/buergerkoffer-agent.service; do
	has "$contents" "$f" "dpkg-deb --contents"
done
if grep -q 'var/lib/buergerkoffer' <<<"$contents"; then fail "the package ships files in the field store's folder"; fi
echo "check dist: .deb metadata ok ($(du -h "$deb" | cut -f1), $(basename "$deb"))"

store=/var/lib/buergerkoffer
if dpkg-query -W -f='${Status}' buergerkoffer 2>/dev/null | grep -q 'installed' || [ -e "$store" ]; then
	echo "check dist: the kit is installed on this machine (or $store exists): install check skipped"
	exit 0
fi
had_group=$(getent group buergerkoffer >/dev/null && echo y || echo n)
cleanup() {
	$sudo dpkg -P buergerkoffer >/dev/null 2>&1 || true
	$sudo rm -rf "$store"
	[ -z "${agent:-}" ] || { $sudo kill "$agent" 2>/dev/null; wait "$agent" 2>/dev/null; } || true
	getent passwd bk-check-clerk >/dev/null && $sudo userdel bk-check-clerk
	getent passwd buergerkoffer-sync >/dev/null && $sudo userdel buergerkoffer-sync
	[ "$had_group" = y ] || ! getent group buergerkoffer >/dev/null || $sudo groupdel buergerkoffer
	rm -rf "$tmp"
}
trap cleanup EXIT
$sudo dpkg -i "$deb" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "dpkg -i failed"; }
for p in buergerkoffer syncd hwtool; do
	got=$(/usr/bin/$p --version 2>/dev/null | head -1) || fail "$p --version failed"
	[ "$(cut -d' ' -f1-2 <<<"$got")" = "$p $version" ] || fail "$p --version says \"$got\", want $version"
done
[ "$(syncd version | cut -d' ' -f2)" = "$version" ] || fail "syncd version: $(syncd version)"
[ "$(hwtool version)" = "hwtool $version" ] || fail "hwtool version: $(hwtool version)"
getent passwd buergerkoffer-sync >/dev/null || fail "no user buergerkoffer-sync"
getent group buergerkoffer >/dev/null || fail "no group buergerkoffer"
[ "$(stat -c '%a %U %G' "$store")" = "2770 buergerkoffer-sync buergerkoffer" ] || fail "$store: $(stat -c '%a %U %G' "$store")"
[ "$(stat -c '%a %U %G' "$store/field.db")" = "660 buergerkoffer-sync buergerkoffer" ] || fail "field.db: $(stat -c '%a %U %G' "$store/field.db")"
$sudo systemd-analyze verify /lib/systemd/system/buergerkoffer-agent.service 2>"$tmp/verify" || { cat "$tmp/verify"; fail "systemd-analyze verify"; }
[ ! -s "$tmp/verify" ] || { cat "$tmp/verify"; fail "systemd-analyze verify complains"; }
# The agent, as its user, opens (and so creates) the field store and
# records that it is not enrolled yet: what it writes stays usable by
# the clerks' group.
$sudo runuser -u buergerkoffer-sync -- /usr/bin/syncd agent sync --db "$store/field.db" >"$tmp/sync.log" 2>&1 && fail "an unenrolled agent synced"
grep -q 'not enrolled' "$tmp/sync.log" || { cat "$tmp/sync.log"; fail "agent as buergerkoffer-sync"; }
[ "$(stat -c '%a %G' "$store/field.db")" = "660 buergerkoffer" ] || fail "field.db after the agent: $(stat -c '%a %G' "$store/field.db")"
# While the agent runs (as the service would), a clerk in the group opens
# the same store (its -wal and -shm belong to the agent); someone outside
# the group cannot.
as() { local u=$1; shift; $sudo setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"; }
$sudo useradd --system --no-create-home --shell /usr/sbin/nologin -G buergerkoffer bk-check-clerk
# (not through as: $! must be the agent, which setpriv becomes)
$sudo setpriv --reuid=buergerkoffer-sync --regid=buergerkoffer --init-groups -- \
	/usr/bin/syncd agent --db "$store/field.db" >"$tmp/agent.out" 2>"$tmp/agent.log" &
agent=$!
for _ in $(seq 50); do [ -s "$tmp/agent.out" ] && break; sleep 0.1; done
grep -q 'running on' "$tmp/agent.out" || { cat "$tmp/agent.log"; fail "the agent did not start as buergerkoffer-sync"; }
as bk-check-clerk /usr/bin/syncd agent status --db "$store/field.db" >"$tmp/status" 2>&1 || { cat "$tmp/status"; fail "a clerk in the group cannot open the store while the agent runs"; }
grep -q '^agent_seen' "$tmp/status" || { cat "$tmp/status"; fail "the clerk does not see the agent's heartbeat"; }
if as nobody /usr/bin/syncd agent status --db "$store/field.db" >/dev/null 2>&1; then fail "a user outside the group opened the store"; fi
$sudo kill "$agent"; wait "$agent" || true; agent=""
sum=$($sudo sha256sum "$store/field.db")
$sudo dpkg -r buergerkoffer >"$tmp/remove.log" 2>&1 || { cat "$tmp/remove.log"; fail "dpkg -r failed"; }
[ ! -e /usr/bin/syncd ] || fail "dpkg -r left /usr/bin/syncd"
[ "$($sudo sha256sum "$store/field.db")" = "$sum" ] || fail "dpkg -r changed or removed the field store"
$sudo dpkg -P buergerkoffer >"$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; fail "dpkg -P failed"; }
[ "$($sudo sha256sum "$store/field.db")" = "$sum" ] || fail "dpkg -P changed or removed the field store"
[ ! -e /etc/systemd/system/multi-user.target.wants/buergerkoffer-agent.service ] || fail "the service is still enabled after purge"
echo "check dist: .deb installs, runs the agent as its user, removes and purges cleanly; the field store stays"
