#!/usr/bin/env bash
# Operations checks (issue 9), called by .ci/run:
#   promtool check rules   monitoring/prometheus/*.rules.yml (+ promtool test rules when present)
#   amtool check-config    monitoring/alertmanager/alertmanager.yml
#   systemd-analyze verify every unit in systemd/ (ExecStart pointed at this checkout's ee)
#   systemd-analyze security --offline=yes: every service must rate <= 2.0
# Needs Debian's prometheus and prometheus-alertmanager packages (promtool, amtool) and systemd.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
max_exposure="2.0"
failed=0

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "check-ops: $1 not found (apt-get install -y $2)" >&2; exit 2; }
}
need promtool prometheus
need amtool prometheus-alertmanager
need systemd-analyze systemd

echo "== promtool check rules"
shopt -s nullglob
rules=(monitoring/prometheus/*.rules.yml)
[ ${#rules[@]} -gt 0 ] || { echo "no rule files in monitoring/prometheus/" >&2; exit 1; }
promtool check rules "${rules[@]}" || failed=1
for test_file in monitoring/prometheus/tests/*.yml; do
    echo "== promtool test rules $test_file"
    promtool test rules "$test_file" || failed=1
done

echo "== amtool check-config"
amtool check-config monitoring/alertmanager/alertmanager.yml || failed=1

echo "== systemd-analyze verify"
ee_bin="$(command -v ee || true)"
[ -x "$root/.venv/bin/ee" ] && ee_bin="$root/.venv/bin/ee"
[ -n "$ee_bin" ] || { echo "check-ops: no ee executable to stand in for /usr/local/bin/ee" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for unit in systemd/*.service systemd/*.timer; do
    # verify checks that ExecStart exists: point the production path at this checkout's ee.
    sed -e "s#/usr/local/bin/ee#${ee_bin}#g" \
        -e "s#/usr/local/lib/emailengine/ee-backup#${root}/systemd/ee-backup.sh#g" "$unit" >"$work/$(basename "$unit")"
done
# Clean means no output at all: systemd only warns ("ignoring") about many bad settings.
verify_out="$(cd "$work" && systemd-analyze verify --man=no ./*.timer ./*.service 2>&1)" || failed=1
if [ -n "$verify_out" ]; then
    printf '%s\n' "$verify_out"
    failed=1
else
    echo "ok   all units verify cleanly"
fi

echo "== systemd-analyze security --offline=yes (each service <= $max_exposure)"
for unit in "$work"/*.service; do
    line="$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1 | grep 'Overall exposure level' || true)"
    score="$(sed -n 's/.*: \([0-9.]*\) .*/\1/p' <<<"$line")"
    if [ -z "$score" ]; then
        echo "FAIL $(basename "$unit"): no exposure level ($line)"
        failed=1
    elif awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s > m) }'; then
        echo "FAIL $(basename "$unit"): exposure $score > $max_exposure"
        failed=1
    else
        echo "ok   $(basename "$unit"): exposure $score"
    fi
done

if [ "$failed" -ne 0 ]; then
    echo "check-ops: FAILED" >&2
    exit 1
fi
echo "check-ops: all operations checks passed"
