#!/usr/bin/env bash
# Make sure a MariaDB/MySQL server answers on 127.0.0.1:3306 as root with an empty password:
# start it if it is installed but stopped, install mariadb-server with apt-get if it is absent.
# Exits non-zero if no server could be reached.
set -uo pipefail
HOST=${MYSQL_HOST:-127.0.0.1}
PORT=${MYSQL_PORT:-3306}
PY=${PYTHON:-python3}

answers() {
  "$PY" - "$HOST" "$PORT" <<'PYEOF' >/dev/null 2>&1
import sys, pymysql
pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user="root", password="", connect_timeout=3).close()
PYEOF
}

wait_up() {
  for _ in $(seq 1 60); do answers && return 0; sleep 0.5; done
  return 1
}

allow_root_over_tcp() {
  # Debian's root uses unix_socket auth only; TCP clients need the empty password too.
  command -v mariadb >/dev/null 2>&1 || return 0
  mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;" >/dev/null 2>&1 || true
}

start_server() {
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  if command -v start-stop-daemon >/dev/null 2>&1 && [ -x /usr/sbin/mariadbd ]; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    service mariadb start >/dev/null 2>&1 || service mysql start >/dev/null 2>&1 || true
  fi
}

if answers; then exit 0; fi
echo "MySQL: no server on $HOST:$PORT, trying to start one" >&2
if [ ! -x /usr/sbin/mariadbd ] && [ ! -x /usr/sbin/mysqld ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing mariadb-server (apt-get, --no-install-recommends)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server) >/dev/null 2>&1 || true
  fi
fi
start_server
if wait_up; then exit 0; fi
allow_root_over_tcp
if wait_up; then exit 0; fi
echo "MySQL: could not reach a server on $HOST:$PORT" >&2
exit 1
