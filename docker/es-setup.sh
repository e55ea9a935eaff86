#!/usr/bin/env bash
# One-shot: give the built-in kibana_system user the password Kibana logs in with.
# Runs in the Elasticsearch image (it has curl). Secrets come from the environment.
set -euo pipefail

: "${ELASTIC_PASSWORD:?ELASTIC_PASSWORD must be set in .env}"
: "${KIBANA_PASSWORD:?KIBANA_PASSWORD must be set in .env}"
ES_URL="${ES_URL:-http://elasticsearch:9200}"

until curl -fsS -u "elastic:${ELASTIC_PASSWORD}" "${ES_URL}/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null; do
  echo "es-setup: waiting for Elasticsearch at ${ES_URL}"
  sleep 3
done

body=$(printf '{"password":"%s"}' "${KIBANA_PASSWORD}")
until curl -fsS -u "elastic:${ELASTIC_PASSWORD}" -H "Content-Type: application/json" \
    -X POST "${ES_URL}/_security/user/kibana_system/_password" -d "${body}" >/dev/null; do
  echo "es-setup: retrying the kibana_system password"
  sleep 3
done
echo "es-setup: kibana_system password set"
