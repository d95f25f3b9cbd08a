#!/usr/bin/env bash
# Deploys this commit with Railway: straight to `api` in staging; in
# production to the `api-canary` service first (scripts/promote.sh moves it
# to `api` once the canary compares well). Railway reads its token from
# RAILWAY_TOKEN, so it never appears on a command line.
set -euo pipefail
export RAILWAY_TOKEN="$DEPLOY_TOKEN"
service=api
if [[ "$DEPLOY_ENVIRONMENT" == production ]]; then service=api-canary; fi
npx --yes @railway/cli@3 up --ci --service "$service" --environment "$DEPLOY_ENVIRONMENT"
