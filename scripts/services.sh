#!/usr/bin/env bash
# Start (if needed) and check the services the integration tests use: PostgreSQL and RabbitMQ on 127.0.0.1.
set -euo pipefail

wait_port() {  # host port name seconds
  for _ in $(seq 1 "$4"); do
    (echo > "/dev/tcp/$1/$2") 2>/dev/null && { echo "services: $3 is up on $1:$2"; return 0; }
    sleep 1
  done
  echo "services: $3 did not come up on $1:$2" >&2
  return 1
}

if ! (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  echo "services: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  else
    echo "services: PostgreSQL is not installed: apt-get install -y postgresql" >&2
  fi
fi
wait_port 127.0.0.1 5432 PostgreSQL 30

if ! (echo > /dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  echo "services: starting RabbitMQ"
  if command -v rabbitmq-server >/dev/null; then
    rabbitmq-server -detached || true
  else
    echo "services: RabbitMQ is not installed: apt-get install -y rabbitmq-server" >&2
  fi
fi
wait_port 127.0.0.1 5672 RabbitMQ 60
