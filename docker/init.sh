#!/usr/bin/env bash
# One-shot setup run by the newsflow-init service: index templates + aliases,
# then the Kibana saved objects. Both steps are idempotent, so the service can
# run on every `docker compose up`.
set -euo pipefail

python -m newsflow.cli index setup --wait 180
python -m newsflow.cli kibana import --timeout 600
echo "newsflow-init: indices and Kibana objects are in place"
