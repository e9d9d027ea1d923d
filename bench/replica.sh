#!/usr/bin/env bash
# A hot-standby streaming replica of the local PostgreSQL cluster on port 5433, for the benchmark's
# analytics routing (DATABASE_REPLICA_URL). On one machine it adds no capacity; it shows the routing working
# under load and what the replication lag is. Bench machines only: it allows local replication connections
# in the cluster's pg_hba.conf (trust, as the rest of that file) and reloads it.
#
#   bench/replica.sh start     # base backup (a copy of the whole cluster) and start the standby
#   bench/replica.sh lag       # replay lag as the primary sees it
#   bench/replica.sh stop      # stop it and delete its data directory
set -euo pipefail

VERSION="$(ls /etc/postgresql | sort -V | tail -1)"
BIN="/usr/lib/postgresql/${VERSION}/bin"
HBA="/etc/postgresql/${VERSION}/main/pg_hba.conf"
DATA="/var/lib/postgresql/zhaoshang-replica"
PORT=5433
as_postgres() { su postgres -s /bin/bash -c "$*"; }

case "${1:-}" in
start)
    if ! grep -qE '^\s*local\s+replication' "$HBA"; then
        printf '%s\n' 'local replication all trust' 'host replication all 127.0.0.1/32 trust' >> "$HBA"
        psql -h 127.0.0.1 -U postgres -qAtc "SELECT pg_reload_conf()" >/dev/null
    fi
    if [ ! -d "$DATA" ]; then
        echo "base backup into $DATA (a copy of every database of the cluster)"
        as_postgres "$BIN/pg_basebackup -h /var/run/postgresql -U postgres -D $DATA -R -X stream -c fast"
        # Debian keeps the configuration outside the data directory: give the standby its own.
        cat > "$DATA/postgresql.conf" <<EOF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '/var/run/postgresql'
hot_standby = on
hot_standby_feedback = on
shared_buffers = 128MB
max_connections = 100
EOF
        cp "$HBA" "$DATA/pg_hba.conf"
        chown postgres:postgres "$DATA/postgresql.conf" "$DATA/pg_hba.conf"
    fi
    as_postgres "$BIN/pg_ctl -D $DATA -l $DATA.log -w start"
    psql -h 127.0.0.1 -p "$PORT" -U postgres -qAtc "SELECT 'standby up, in recovery: ' || pg_is_in_recovery()"
    ;;
lag)
    psql -h 127.0.0.1 -U postgres -qAtc \
        "SELECT application_name, state, replay_lag FROM pg_stat_replication"
    ;;
stop)
    if [ -d "$DATA" ]; then
        as_postgres "$BIN/pg_ctl -D $DATA -m fast stop" || true
        rm -rf "$DATA" "$DATA.log"
    fi
    ;;
*)
    echo "usage: $0 start|lag|stop" >&2
    exit 2
    ;;
esac
