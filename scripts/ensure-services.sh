#!/usr/bin/env bash
# Make sure the services the integration tests use are up: Redis on 6379, RabbitMQ on 5672.
# Starts an installed but stopped server; installs it with apt when missing (scripts/apt-install.sh).
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

if ! listening 6379; then
    command -v redis-server >/dev/null || "$(dirname "$0")/apt-install.sh" redis-server
    mkdir -p /tmp/jobtastic-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /tmp/jobtastic-redis --logfile /tmp/jobtastic-redis/redis.log
    wait_for 6379 Redis 10
fi
# The tests also start a throw-away redis-server of their own (the "cache stopped" test).
command -v redis-server >/dev/null || "$(dirname "$0")/apt-install.sh" redis-server

if ! listening 5672; then
    command -v rabbitmq-server >/dev/null || "$(dirname "$0")/apt-install.sh" rabbitmq-server
    rabbitmq-server -detached
    wait_for 5672 RabbitMQ 90
fi
echo "ensure-services: Redis and RabbitMQ are up"
