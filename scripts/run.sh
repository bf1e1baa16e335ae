#!/usr/bin/env bash
# Bring up the whole system on embedded defaults: SQLite, the filesystem broker and .eml
# mail, all under instance/. Web (gunicorn), a Celery worker and beat run together until
# Ctrl-C. Called by `make run`, which has already installed the requirements.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
PORT=${PORT:-5000}
# The address emails link to (config.py PUBLIC_URL): the port this run really serves on.
export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$PORT}
export FLASK_APP=backoffice:create_app
export BACKOFFICE_ENV=${BACKOFFICE_ENV:-development}
mkdir -p instance/logs

# One secret for the web and the worker, kept across restarts so sessions survive them.
if [ -z "${SECRET_KEY:-}" ]; then
  [ -s instance/secret_key ] || "$BIN/python" -c 'import secrets; print(secrets.token_hex(32))' > instance/secret_key
  SECRET_KEY=$(cat instance/secret_key)
  export SECRET_KEY
fi

"$BIN/flask" db upgrade
"$BIN/flask" seed-demo

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping web and worker..."
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
stopped_by_user() { cleanup; exit 0; }
trap stopped_by_user INT TERM
trap cleanup EXIT

"$BIN/celery" -A worker worker --beat --loglevel=INFO --concurrency=2 \
  >> instance/logs/worker.log 2>&1 &
pids+=($!)
# One web process with threads: the sign-in limits are counted in its memory in embedded
# mode (config.py RATELIMIT_STORAGE_URI); with REDIS_URL set, more processes share Redis.
"$BIN/gunicorn" --workers 1 --threads 4 --bind "127.0.0.1:$PORT" --access-logfile instance/logs/access.log \
  "backoffice:create_app()" >> instance/logs/web.log 2>&1 &
pids+=($!)

for _ in $(seq 1 50); do
  if "$BIN/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/login', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.2
done

cat <<MSG

  Talent Admission Back Office is running: http://127.0.0.1:$PORT/

  Demo sign-ins (embedded mode only):
    admin@example.org        demo-admin-password        (accounts)
    supervisor@example.org   demo-supervisor-password   (cases, quota, worker status)
    caseworker@example.org   demo-caseworker-password   (cases)
    caseworker2@example.org  demo-caseworker-password   (cases, reads in 繁體中文)

  Email is written to instance/mail/*.eml; logs are in instance/logs/.
  Web, worker and beat stop with Ctrl-C.

MSG
wait -n "${pids[@]}"
echo "A process stopped; see instance/logs/." >&2
exit 1
