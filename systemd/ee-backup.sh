#!/bin/sh
# ee-backup: dump the ee PostgreSQL database in pg_dump's custom format and keep the newest N.
# Installed as /usr/local/lib/emailengine/ee-backup and run by ee-backup.service (daily).
#
#   EE_DATABASE_URL          postgresql+psycopg://... (from /etc/emailengine/emailengine.env);
#                            EE_BACKUP_DATABASE_URL overrides it (a libpq URL or connection string)
#   EE_BACKUP_DIR            where dumps go (default $STATE_DIRECTORY/backups, else /var/backups/emailengine)
#   EE_BACKUP_KEEP           how many dumps to keep (default 14)
#
# A dump is written to a temporary name, checked with `pg_restore --list`, then renamed, so a
# half-written dump never counts as a backup and never pushes a good one out of retention.
# Restore: see DEPLOY.md "Restore" (pg_restore --clean --if-exists --no-owner -d ...).
set -eu

url="${EE_BACKUP_DATABASE_URL:-${EE_DATABASE_URL:-}}"
case "$url" in
    "") echo "ee-backup: EE_DATABASE_URL is not set" >&2; exit 2 ;;
    sqlite*) echo "ee-backup: the database is SQLite; back up its file instead (DEPLOY.md)" >&2; exit 2 ;;
esac
# SQLAlchemy's dialect+driver prefix is not libpq syntax.
url="$(printf '%s' "$url" | sed -e 's#^postgresql+[a-z0-9]*://#postgresql://#' -e 's#^postgres+[a-z0-9]*://#postgresql://#')"

state="${STATE_DIRECTORY:-}"
state="${state%%:*}"
dir="${EE_BACKUP_DIR:-${state:+$state/backups}}"
dir="${dir:-/var/backups/emailengine}"
keep="${EE_BACKUP_KEEP:-14}"
case "$keep" in ''|*[!0-9]*) echo "ee-backup: EE_BACKUP_KEEP must be a number" >&2; exit 2 ;; esac
[ "$keep" -ge 1 ] || { echo "ee-backup: EE_BACKUP_KEEP must be at least 1" >&2; exit 2; }

umask 077
mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$dir/ee-$stamp.dump"
partial="$dir/.ee-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT INT TERM

pg_dump --format=custom --compress=6 --no-password --file="$partial" --dbname="$url"
pg_restore --list "$partial" >/dev/null
mv "$partial" "$final"
echo "ee-backup: wrote $final ($(wc -c <"$final") bytes)"

# Retention: names sort by time; remove all but the newest $keep dumps.
count=0
for old in $(ls -1 "$dir" | grep -E '^ee-[0-9]{8}T[0-9]{6}Z\.dump$' | sort -r); do
    count=$((count + 1))
    if [ "$count" -gt "$keep" ]; then
        rm -f "$dir/$old"
        echo "ee-backup: removed old dump $old"
    fi
done
