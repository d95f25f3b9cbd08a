#!/usr/bin/env bash
# Runs in the deploy job before the migrations: check the Django project and
# collect the static files that go out with the release.
set -euo pipefail
python -m pip install --quiet -r requirements.txt
python manage.py check --deploy
python manage.py collectstatic --noinput
