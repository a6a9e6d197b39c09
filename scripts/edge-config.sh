#!/usr/bin/env bash
# The edge's nginx configuration for make up (scripts/up.sh) and Tests/Deploy: one origin in front
# of the gateways, the xy-admin instances and Web/, with the routes of deploy/nginx/routes.conf.
#
#   scripts/edge-config.sh OUT_DIR LISTEN WEB_DIR GATEWAYS ADMINS
#       OUT_DIR   the edge's folder: writes OUT_DIR/nginx.conf, creates OUT_DIR/temp; pid file and
#                 access log go there too (nothing outside it, so no root is needed)
#       LISTEN    HOST:PORT the edge listens on
#       WEB_DIR   the folder served at / (Web/)
#       GATEWAYS  HOST:PORT,HOST:PORT,… of the gateways (WebSocket, /healthz)
#       ADMINS    HOST:PORT,HOST:PORT,… of the xy-admin APIs (/api/, /admin/, /.well-known/)
#
# Run the result in the foreground, errors on stderr:
#   nginx -e stderr -p OUT_DIR -c OUT_DIR/nginx.conf
# nginx started as root would hand its workers to `nobody`; the configuration names the invoking
# user instead, so the workers can read Web/ and write OUT_DIR/temp whoever runs make up.
set -euo pipefail
[[ $# -eq 5 ]] || { echo "usage: $0 OUT_DIR LISTEN WEB_DIR GATEWAYS ADMINS" >&2; exit 2; }
cd "$(dirname "$0")/.."
routes=$PWD/deploy/nginx/routes.conf
out=$1 listen=$2 web=$3 gateways=$4 admins=$5
mkdir -p "$out/temp"
out=$(cd "$out" && pwd)
web=$(cd "$web" && pwd)

# check_servers LIST: every entry of a comma-separated list is HOST:PORT, and there is one.
check_servers() {
    local entry entries
    IFS=, read -r -a entries <<<"$1"
    [[ ${#entries[@]} -gt 0 ]] || { echo "edge-config: no upstream server given" >&2; exit 2; }
    for entry in "${entries[@]}"; do
        [[ $entry =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]] || { echo "edge-config: '$entry' is not HOST:PORT" >&2; exit 2; }
    done
}
# servers LIST: one `server HOST:PORT …;` line per entry (checked by check_servers).
servers() {
    local entry entries
    IFS=, read -r -a entries <<<"$1"
    for entry in "${entries[@]}"; do
        printf '        server %s max_fails=1 fail_timeout=5s;\n' "$entry"
    done
}
check_servers "$gateways"
check_servers "$admins"

user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
mime_types=/etc/nginx/mime.types
[[ -f $mime_types ]] || { echo "edge-config: $mime_types is missing (Debian's nginx-common)" >&2; exit 1; }

cat >"$out/nginx.conf" <<CONF
# Written by scripts/edge-config.sh for make up; regenerated on every start.
$user_line
daemon off;
worker_processes 2;
pid $out/nginx.pid;
error_log stderr notice;

events {
    worker_connections 4096;
}

http {
    include $mime_types;
    default_type application/octet-stream;
    sendfile on;
    server_tokens off;
    # Buffered: a write per request showed in make bench-admin's latency through the edge.
    access_log $out/access.log combined buffer=64k flush=1s;
    client_body_temp_path $out/temp/body;
    proxy_temp_path $out/temp/proxy;
    fastcgi_temp_path $out/temp/fastcgi;
    uwsgi_temp_path $out/temp/uwsgi;
    scgi_temp_path $out/temp/scgi;

    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      '';
    }

    # Round robin shared by the workers (zone), so consecutive connections alternate between
    # instances; one that refuses a connection is skipped for fail_timeout.
    upstream xy_gateway {
        zone xy_gateway 64k;
$(servers "$gateways")
    }
    upstream xy_admin {
        zone xy_admin 64k;
$(servers "$admins")
        # Idle connections kept to xy-admin: as many as the busy clients (bench-admin runs 50).
        keepalive 64;
    }

    server {
        listen $listen;
        root $web;
        include $routes;
    }
}
CONF
