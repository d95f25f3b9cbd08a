#!/usr/bin/env bash
# Runs after a failed deploy: removes the deployments this run made
# (`railway down` deletes a service's most recent successful deployment, so
# the one before serves again). The workflow then rolls the migrations back
# if the policy allows.
set -euo pipefail
export RAILWAY_TOKEN="$DEPLOY_TOKEN"
echo "rolling back $DEPLOY_ENVIRONMENT: $DEPLOY_FAILURE_REASON"
if [[ "$DEPLOY_ENVIRONMENT" == production ]]; then
  npx --yes @railway/cli@3 down --yes --service api-canary --environment production
  if [[ "$DEPLOY_PROMOTED" != true ]]; then exit 0; fi
fi
npx --yes @railway/cli@3 down --yes --service api --environment "$DEPLOY_ENVIRONMENT"
