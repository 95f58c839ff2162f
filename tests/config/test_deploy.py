"""Production settings and operations files: `check --deploy`, .env.example, readiness when the
database is down, the Prometheus config and its alert rules (promtool), the systemd web unit."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workers import procs

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    # Nothing of this process's environment leaks in but PATH and HOME.
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "PACKYARD_ENV_FILE": "", **env},  # no developer .env either
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-secret-7f3b9c2e1d5a48b6a0c9e8d7f6b5a4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3",
    "ALLOWED_HOSTS": "packyard.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://packyard.example.com",
    "CACHE_URL": "redis://127.0.0.1:6379/10",
}


@pytest.mark.django_db(transaction=True)  # no transaction held open: the check opens the database
def test_check_deploy_is_clean_with_only_the_six_production_variables():
    env = {**PRODUCTION, "DATABASE_URL": procs.database_url()}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # The check can fail: an operator who turns HSTS off is told.
    weakened = manage("check", "--deploy", "--fail-level", "WARNING", env={**env, "SECURE_HSTS_SECONDS": "0"})
    assert weakened.returncode != 0 and "security.W004" in weakened.stderr


def test_tls_termination_at_a_proxy_is_configurable():
    code = "from django.conf import settings as s; print(repr(s.SECURE_PROXY_SSL_HEADER))"
    for value, expected in (
        (None, "('HTTP_X_FORWARDED_PROTO', 'https')"),
        ("HTTP_X_SCHEME,https", "('HTTP_X_SCHEME', 'https')"),
        ("", "None"),
    ):
        env = {**PRODUCTION, **({} if value is None else {"SECURE_PROXY_SSL_HEADER": value})}
        result = manage("shell", "-c", code, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == expected


def test_readyz_is_503_naming_the_database_when_it_is_down():
    code = (
        "from django.test import Client; import json; r = Client(HTTP_HOST='packyard.example.com').get('/readyz'); "
        "print(r.status_code, json.dumps(r.json()))"
    )
    # Nothing listens on port 1: the database is down.
    result = manage("shell", "-c", code, env={**PRODUCTION, "DATABASE_URL": "mysql://root@127.0.0.1:1/packyard"})
    assert result.returncode == 0, result.stderr
    status, _, body = result.stdout.strip().splitlines()[-1].partition(" ")
    payload = json.loads(body)
    assert status == "503" and payload["failing"] == "database"
    assert payload["checks"]["database"].startswith("error:") and payload["status"] == "unavailable"


def _names_read(path: Path, patterns: list[str]) -> set[str]:
    text = path.read_text()
    return {name for pattern in patterns for name in re.findall(pattern, text)}


def test_env_example_lists_every_variable_the_configuration_reads():
    read = (
        _names_read(ROOT / "config" / "settings.py", [r'env\.\w+\(\s*"([A-Z0-9_]+)"', r'_database\("([A-Z0-9_]+)"'])
        | _names_read(
            ROOT / "config" / "gunicorn.py", [r'os\.environ(?:\.get)?\(\s*"([A-Z0-9_]+)"', r'_int\("([A-Z0-9_]+)"']
        )
        | _names_read(ROOT / "config" / "env.py", [r'os\.environ\.get\("([A-Z0-9_]+)"'])
    )
    assert {"DATABASE_URL", "LOG_FORMAT", "GUNICORN_WORKERS", "SECURE_PROXY_SSL_HEADER"} <= read
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - listed == set()


def test_the_systemd_web_unit_runs_gunicorn_with_config_gunicorn_py():
    unit = (ROOT / "deploy" / "systemd" / "packyard-web.service").read_text()
    assert "gunicorn -c config/gunicorn.py config.wsgi" in unit
    assert "PROMETHEUS_MULTIPROC_DIR=" in unit


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: bin/system-deps test installs Debian's prometheus package"
    return subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_promtool_checks_the_scrape_config_and_the_rules(tmp_path):
    # The shipped config reads the bearer token from /etc/prometheus: point it at a file here.
    token = tmp_path / "token"
    token.write_text("t")
    config = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    assert "/etc/prometheus/packyard-metrics-token" in config
    (tmp_path / "prometheus.yml").write_text(config.replace("/etc/prometheus/packyard-metrics-token", str(token)))
    shutil.copy(PROMETHEUS_DIR / "packyard-rules.yml", tmp_path)
    checked = _promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = _promtool("check", "rules", "packyard-rules.yml", cwd=PROMETHEUS_DIR)
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_promtool_unit_tests_of_the_alerts_pass():
    result = _promtool("test", "rules", "packyard-rules.test.yml", cwd=PROMETHEUS_DIR)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
