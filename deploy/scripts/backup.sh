#!/usr/bin/env bash
# Online backup of the oshirase SQLite database.
#
# Uses SQLite's online backup API (sqlite3 ".backup"), which is safe while the server runs;
# copying the database file (or its -wal/-shm files) with cp/rsync is not. The copy is
# converted to a standalone single file (journal_mode=DELETE), checked with
# PRAGMA integrity_check, and only then given its final name. After a good backup, all but
# the newest $KEEP backups are deleted.
#
# Environment:
#   DB_PATH     database to back up   (default /var/lib/oshirase/oshirase.sqlite)
#   BACKUP_DIR  where backups go      (default /var/backups/oshirase)
#   KEEP        backups to keep, >= 1 (default 14)
#
# Exit status is non-zero on any failure, so systemd marks oshirase-backup.service failed.
# Needs the sqlite3 command-line tool (Debian package "sqlite3").

set -euo pipefail

DB_PATH=${DB_PATH:-/var/lib/oshirase/oshirase.sqlite}
BACKUP_DIR=${BACKUP_DIR:-/var/backups/oshirase}
KEEP=${KEEP:-14}

log() { printf 'oshirase-backup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 not found (apt-get install sqlite3)"
[[ $KEEP =~ ^[1-9][0-9]*$ ]] || die "KEEP must be a positive integer, got '$KEEP'"
# Check first: sqlite3 would silently create an empty database at a wrong path.
[[ -f $DB_PATH && -r $DB_PATH ]] || die "database $DB_PATH does not exist or is not readable"
[[ -d $BACKUP_DIR && -w $BACKUP_DIR ]] || die "backup directory $BACKUP_DIR missing or not writable"
# The destination is quoted with '...' inside a sqlite3 dot-command.
[[ $BACKUP_DIR != *"'"* ]] || die "BACKUP_DIR must not contain a single quote"

umask 077

stamp=$(date -u +%Y%m%dT%H%M%SZ)
dest="$BACKUP_DIR/oshirase-$stamp.sqlite"
tmp="$dest.partial"

cleanup() { rm -f -- "$tmp" "$tmp-journal" "$tmp-wal" "$tmp-shm"; }
trap cleanup EXIT

log "backing up $DB_PATH to $dest"

# Online backup; wait up to 10 s if the database is busy.
sqlite3 -bail -cmd ".timeout 10000" "$DB_PATH" ".backup '$tmp'"

# The copy inherits WAL mode from the source; make it a single self-contained file.
sqlite3 -bail "$tmp" "PRAGMA journal_mode=DELETE;" >/dev/null

check=$(sqlite3 -bail -readonly "$tmp" "PRAGMA integrity_check;")
[[ $check == ok ]] || die "integrity check of the copy failed: $check"

mv -f -- "$tmp" "$dest"
log "backup ok: $dest ($(stat -c %s -- "$dest") bytes)"

# Retention: names sort by time (UTC stamp), so the oldest come first.
shopt -s nullglob
backups=("$BACKUP_DIR"/oshirase-*.sqlite)
count=${#backups[@]}
if (( count > KEEP )); then
    for old in "${backups[@]:0:count-KEEP}"; do
        rm -f -- "$old"
        log "removed old backup $old"
    done
fi
