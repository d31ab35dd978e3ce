#!/usr/bin/env bash
# Make sure RabbitMQ (127.0.0.1:5672, guest/guest) and Redis (127.0.0.1:6379) answer, as
# ensure_mysql.sh does for MariaDB: start each if installed and stopped, apt-get install it if
# absent. Creates the RabbitMQ vhost the tests use ($RABBITMQ_TEST_VHOST). Exits non-zero if a
# broker could not be reached.
set -uo pipefail
VHOST=${RABBITMQ_TEST_VHOST:-store_monitor_test}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1
}

wait_port() {
  for _ in $(seq 1 120); do port_open "$1" && return 0; sleep 0.5; done
  return 1
}

install_pkg() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing $1 (apt-get, --no-install-recommends)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1") >/dev/null 2>&1 || true
  fi
}

status=0

if ! port_open 6379; then
  echo "Redis: no server on 127.0.0.1:6379, trying to start one" >&2
  command -v redis-server >/dev/null 2>&1 || install_pkg redis-server
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null 2>&1 || true
  fi
  wait_port 6379 || { echo "Redis: could not reach a server on 127.0.0.1:6379" >&2; status=1; }
fi

if ! port_open 5672; then
  echo "RabbitMQ: no server on 127.0.0.1:5672, trying to start one" >&2
  [ -x /usr/sbin/rabbitmq-server ] || install_pkg rabbitmq-server
  if [ -x /usr/sbin/rabbitmq-server ]; then
    (service rabbitmq-server start || rabbitmq-server -detached) >/dev/null 2>&1 || true
  fi
  wait_port 5672 || { echo "RabbitMQ: could not reach a server on 127.0.0.1:5672" >&2; status=1; }
fi

if port_open 5672 && command -v rabbitmqctl >/dev/null 2>&1; then
  if ! rabbitmqctl -q list_vhosts 2>/dev/null | grep -qx "$VHOST"; then
    rabbitmqctl -q add_vhost "$VHOST" >/dev/null 2>&1 || true
  fi
  rabbitmqctl -q set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null 2>&1 || true
fi
exit $status
