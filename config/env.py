"""The one django-environ reader every settings value goes through."""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is read when present (development); real deployments set the environment.
# PACKYARD_ENV_FILE names another file, or "" to read none.
ENV_FILE = os.environ.get("PACKYARD_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE)
