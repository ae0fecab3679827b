#!/usr/bin/env bash
# Make sure the services the integration tests use are up: Redis on 6379, RabbitMQ on 5672.
# Starts an installed but stopped server; installs redis-server with apt when missing and root.
set -euo pipefail

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # port, name, seconds
    for _ in $(seq 1 $(($3 * 10))); do
        listening "$1" && return 0
        sleep 0.1
    done
    echo "ensure-services: $2 did not come up on port $1" >&2
    return 1
}

apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "ensure-services: $* missing; install it (apt-get install $*)" >&2
        return 1
    fi
    if [ -z "${APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! listening 6379; then
    command -v redis-server >/dev/null || apt_install redis-server
    mkdir -p /tmp/jobtastic-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /tmp/jobtastic-redis --logfile /tmp/jobtastic-redis/redis.log
    wait_for 6379 Redis 10
fi
# The tests also start a throw-away redis-server of their own (the "cache stopped" test).
command -v redis-server >/dev/null || apt_install redis-server

if ! listening 5672; then
    command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
    rabbitmq-server -detached
    wait_for 5672 RabbitMQ 90
fi
echo "ensure-services: Redis and RabbitMQ are up"
