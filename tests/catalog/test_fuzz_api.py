"""The API against its own OpenAPI schema under Schemathesis (issue 13): the `st` CLI against a live
test server, every check, valid and invalid data, all four phases (examples, coverage, fuzzing,
stateful), a fixed seed, and real data to reach: a published pack with stickers, the owner's token,
another owner's pack, a draft. Done when it finds nothing: no failure, no server error.

What the schema cannot say (real images for uploads, server-issued cursors, the distinct-tag rule)
the hooks supply for valid-data cases only: tests/catalog/fuzz/hooks.py.
"""

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from catalog.api.cursors import encode_cursor
from catalog.api.inputs import SORT_ALIASES
from tests.catalog.conftest import make_pack

ROOT = Path(__file__).resolve().parents[2]
SEED = 13
MAX_EXAMPLES = 12
TIMEOUT_SECONDS = 900


def st_command() -> str:
    return str(Path(sys.executable).with_name("st"))


def config_toml(
    *, token: str, pack_keys: list[str], sticker_ids: list[int], username: str, password: str, cache_dir: Path
) -> str:
    packs = ", ".join(json.dumps(key) for key in pack_keys)
    stickers = ", ".join(str(i) for i in sticker_ids)
    return f"""
hooks = "tests.catalog.fuzz.hooks"
seed = {SEED}

# No state kept between runs (a replay of earlier crashes would make runs differ), none in the tree.
[cache]
enabled = false
directory = {json.dumps(str(cache_dir))}

[generation]
mode = "all"
max-examples = {MAX_EXAMPLES}
database = "none"

[auth.openapi.tokenAuth]
api_key = "Token {token}"

[dictionaries.packs]
values = [{packs}]

[dictionaries.stickers]
values = [{stickers}]

[dictionaries.usernames]
values = [{json.dumps(username)}]

[dictionaries.passwords]
values = [{json.dumps(password)}]

[parameters]
"path.pack_key" = {{ dictionary = "packs", probability = 0.85 }}
"path.sticker_id" = {{ dictionary = "stickers", probability = 0.85 }}
# Valid-data logins use the real account (a drawn username and password that exist nowhere are
# refused with 400 INVALID_CREDENTIALS, as documented: a valid request the schema cannot know to
# be wrong); invalid-data logins stay as drawn.
"body.username" = {{ dictionary = "usernames" }}
"body.password" = {{ dictionary = "passwords" }}

# The coverage phase still sends boundary credentials (150 zeros): those are refused with 400
# INVALID_CREDENTIALS, the operation's documented answer to a well-formed login that matches no one.
[[operations]]
include-operation-id = "auth_token"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "403", "429"]
"""


@pytest.mark.django_db(transaction=True)
def test_the_api_keeps_its_schema_under_fuzzing(live_server, tmp_path, user, other_user, settings, monkeypatch):
    settings.WHATSAPP_BOT_PHONE = settings.SUPPORT_WHATSAPP_PHONE = "5511999990000"
    # Throttles and the login lockout have tests of their own (test_auth_abuse, test_engagement_abuse);
    # at their production rates they would answer most of this run with 429 after its first seconds.
    for scope in ("auth", "auth_username", "engagement", "viewer_key"):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "100000/min")
    settings.AXES_FAILURE_LIMIT = 100_000
    token = Token.objects.create(user=user).key
    published = make_pack(owner=user, items=6, classified=True, tags=["cats", "cute"], engagement={"like_count": 4})
    sensitive = make_pack(owner=user, items=2, nsfw_items=1)
    draft = make_pack(owner=user, items=1, status="draft", refresh=False)
    empty = make_pack(owner=user, items=0, status="draft", refresh=False)
    spares = [make_pack(owner=user, items=1, status="draft", refresh=False) for _ in range(3)]
    foreign = make_pack(owner=other_user, items=2, classified=True)
    # Path parameters come from these (85 %) or are drawn. Mostly the published pack and its stickers
    # (repeated entries weigh more), so a pack and one of its stickers meet often enough for the
    # sticker operations to reach real rows.
    packs = [published] * 4 + [draft, foreign, sensitive, empty]
    sticker_ids = [item.asset_id for pack in packs for item in pack.items.all()]
    recent = datetime(2026, 1, 1, tzinfo=UTC)
    cursors = {
        sort: encode_cursor(sort, value, foreign.id, 24, [])
        for sort, value in {"ranking": 0.5, "trending": 0.5, "recent": recent, "likes": 3, "downloads": 3}.items()
    }
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        config_toml(
            token=token,
            pack_keys=[p.pack_key for p in packs],
            sticker_ids=sticker_ids,
            username="alice",
            password="alice-password-123",
            cache_dir=tmp_path / "schemathesis-cache",
        )
    )
    junit, har = tmp_path / "junit.xml", tmp_path / "requests.har"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PACKYARD_FUZZ_CURSORS": json.dumps(cursors),
        "PACKYARD_FUZZ_SORTS": json.dumps(SORT_ALIASES),
        "PACKYARD_FUZZ_KEPT_PACKS": json.dumps([published.pack_key, foreign.pack_key]),
        "PACKYARD_FUZZ_SPARE_PACKS": json.dumps([p.pack_key for p in spares]),
    }
    command = [
        st_command(),
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/api/schema",
        "--checks",
        "all",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--report",
        "junit,har",
        "--report-junit-path",
        str(junit),
        "--report-har-path",
        str(har),
        "--no-color",
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    output = result.stdout[-20000:] + result.stderr[-5000:]
    (Path(os.environ.get("PACKYARD_FUZZ_LOG", tmp_path / "st.log"))).write_text(result.stdout + result.stderr)
    assert result.returncode == 0, output

    suites = ET.parse(junit).getroot()
    cases = suites.findall(".//testcase")
    problems = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    assert not problems, output
    tested = {c.get("name", "") for c in cases}
    schema = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    operations = {f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item}
    assert operations <= tested, f"not tested: {sorted(operations - tested)}\n{output}"
    # Every operation did its job at least once (real rows reached, not only refusals), and no
    # response at all was a server error.
    statuses = answered_statuses(json.loads(har.read_text()), schema)
    assert not [s for codes in statuses.values() for s in codes if s >= 500], statuses
    unreached = sorted(op for op in operations if not any(200 <= s < 400 for s in statuses.get(op, ())))
    assert not unreached, (
        f"never answered 2xx/3xx: {unreached}\n{ {op: sorted(set(statuses.get(op, ()))) for op in unreached} }"
    )


def answered_statuses(har: dict, schema: dict) -> dict[str, list[int]]:
    """{"METHOD /path/{param}": [status, ...]} of every request of the run (its HAR report)."""
    routes = []
    for path, item in schema["paths"].items():
        pattern = re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(path))
        if path.endswith("{sticker_id}"):
            pattern += r"(?:\.webp)?"
        routes.append((re.compile(pattern + "$"), path, set(item)))
    # Fixed names before {pack_key}, as the URLconf matches them.
    routes.sort(key=lambda route: route[1].count("{"))
    found: dict[str, list[int]] = {}
    for entry in har["log"]["entries"]:
        method = entry["request"]["method"].lower()
        path = unquote(urlsplit(entry["request"]["url"]).path)
        for pattern, template, methods in routes:
            if method in methods and pattern.match(path):
                found.setdefault(f"{method.upper()} {template}", []).append(entry["response"]["status"])
                break
    return found
