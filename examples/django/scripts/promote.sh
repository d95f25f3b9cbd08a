#!/usr/bin/env bash
# Production only, after the canary compared well: the same commit to `api`.
set -euo pipefail
export RAILWAY_TOKEN="$DEPLOY_TOKEN"
npx --yes @railway/cli@3 up --ci --service api --environment production
