"""JSON {"error", "code"} for every response under /api (issue 13), CSRF refusals included, and a
schema that lists every status an operation answers, with the Error body."""

import json

import pytest
import yaml
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from catalog.models import StickerPack
from config.errors import csrf_failure
from tests.catalog.conftest import make_pack

pytestmark = pytest.mark.django_db


def session_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"error", "code"} and body["code"] == code and body["error"]


@pytest.mark.parametrize("method", ["post", "delete", "put", "patch"])
@pytest.mark.parametrize("path", ["/api/does-not-exist", "/api/sticker-packs/x/y/z", "/api"])
def test_unknown_api_paths_are_json_404_even_with_a_session_and_no_csrf_token(user, method, path):
    assert_json_error(getattr(session_client(user), method)(path), 404, "NOT_FOUND")
    assert_json_error(getattr(Client(enforce_csrf_checks=True), method)(path), 404, "NOT_FOUND")


def test_a_session_write_without_its_csrf_token_is_a_json_403(user):
    client = session_client(user)
    refused = client.post("/api/sticker-packs", {"name": "Cats"}, content_type="application/json")
    assert_json_error(refused, 403, "CSRF_FAILED")
    assert not StickerPack.objects.exists()
    client.get("/")  # the page sets the CSRF cookie, as a browser session has it
    token = client.cookies["csrftoken"].value
    created = client.post(
        "/api/sticker-packs", {"name": "Cats"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert created.status_code == 201


def test_engagement_needs_no_csrf_token_with_a_session(user):
    pack = make_pack(items=1)
    response = session_client(user).post(f"/api/sticker-packs/{pack.pack_key}/like")
    assert response.status_code == 200 and response.json()["data"]["interaction"] == "like"


def test_the_csrf_failure_view_answers_json_under_api_and_the_page_elsewhere():
    factory = RequestFactory()
    assert_json_error(csrf_failure(factory.post("/api/sticker-packs"), "CSRF cookie not set."), 403, "CSRF_FAILED")
    page = csrf_failure(factory.post("/login/"), "CSRF cookie not set.")
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


def test_the_pages_keep_django_csrf_page(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "alice", "password": "x"})
    assert response.status_code == 403 and response["Content-Type"].startswith("text/html")


def test_drf_refusals_keep_their_codes(api, owner_api):
    assert_json_error(api.get("/api/sticker-packs/me"), 401, "NOT_AUTHENTICATED")
    assert_json_error(owner_api.put("/api/sticker-packs", {}, format="json"), 405, "METHOD_NOT_ALLOWED")
    assert_json_error(
        owner_api.post("/api/sticker-packs", "name=x", content_type="text/plain"), 415, "UNSUPPORTED_MEDIA"
    )
    assert_json_error(api.get("/api/sticker-packs", HTTP_ACCEPT="text/csv"), 406, "NOT_ACCEPTABLE")
    assert_json_error(APIClient().get("/api/sticker-packs", HTTP_AUTHORIZATION="Token nope"), 401, "NOT_AUTHENTICATED")


@pytest.fixture
def schema(api):
    response = api.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    return yaml.safe_load(response.content)


def test_every_operation_lists_its_errors_with_the_error_body(schema):
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "401", "406", "413"} <= set(responses), (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == error_ref, (method, path, status)
                    assert response["description"], (method, path, status)
    owner_writes = [
        ("/api/sticker-packs", "post"),
        ("/api/sticker-packs/{pack_key}", "patch"),
        ("/api/sticker-packs/{pack_key}", "delete"),
        ("/api/sticker-packs/{pack_key}/publish", "post"),
        ("/api/sticker-packs/{pack_key}/stickers", "post"),
        ("/api/sticker-packs/{pack_key}/stickers/{sticker_id}", "patch"),
        ("/api/sticker-packs/{pack_key}/stickers/{sticker_id}", "delete"),
    ]
    for path, method in owner_writes:
        assert "403" in schema["paths"][path][method]["responses"], (method, path)
    upload = schema["paths"]["/api/sticker-packs/{pack_key}/stickers"]["post"]["responses"]
    assert {"409", "415", "422", "429", "503"} <= set(upload)


def test_the_schema_says_what_the_code_enforces(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/sticker-packs"]["get"]["parameters"]}
    assert parameters["limit"]["schema"]["minimum"] == 1
    assert parameters["offset"]["schema"] == {"type": "integer", "maximum": 10000, "minimum": 0, "default": 0}
    assert parameters["categories"]["schema"]["maxItems"] == 20 and parameters["categories"]["explode"] is False
    assert "" in parameters["sort"]["schema"]["enum"] and "best" not in parameters["sort"]["schema"]["enum"]
    for name in ("creators", "orphan-stickers"):
        limits = {p["name"]: p for p in schema["paths"][f"/api/sticker-packs/{name}"]["get"]["parameters"]}
        assert limits["limit"]["schema"]["minimum"] == 1
    write = schema["components"]["schemas"]["PackWrite"]
    assert write["required"] == ["name"] and write["additionalProperties"] is False
    assert write["properties"]["name"]["maxLength"] == 120 and "pattern" in write["properties"]["name"]
    token = schema["components"]["schemas"]["TokenRequest"]["properties"]
    assert token["username"]["minLength"] == 1 and token["password"]["minLength"] == 1
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["name"] == "Authorization" and schemes["cookieAuth"]["in"] == "cookie"
    create = schema["paths"]["/api/sticker-packs"]["post"]
    assert {"tokenAuth": []} in create["security"] and {"cookieAuth": []} in create["security"]
    assert {} not in create["security"]
