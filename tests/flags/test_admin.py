"""The flags admin through its real views (changelist editing, actions, add, delete)."""

import pytest

from flags import services
from flags.models import FeatureFlag, FlagChange

CHANGELIST = "/admin/flags/featureflag/"


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def _changelist_post(flags, edits):
    data = {
        "form-TOTAL_FORMS": str(len(flags)),
        "form-INITIAL_FORMS": str(len(flags)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, flag in enumerate(flags):
        values = {"is_enabled": flag.is_enabled, "rollout_percent": flag.rollout_percent, **edits.get(flag.name, {})}
        data[f"form-{i}-id"] = str(flag.pk)
        data[f"form-{i}-rollout_percent"] = str(values["rollout_percent"])
        if values["is_enabled"]:
            data[f"form-{i}-is_enabled"] = "on"
    return data


@pytest.mark.django_db
def test_list_editable_saves_through_the_service_with_audit(staff_client, staff_user):
    flags = list(FeatureFlag.objects.order_by("name"))
    data = _changelist_post(flags, {"enable_worker_dedicated_processes": {"is_enabled": True, "rollout_percent": 30}})
    response = staff_client.post(CHANGELIST, data)
    assert response.status_code == 302, response.content[:2000]
    flag = FeatureFlag.objects.get(name="enable_worker_dedicated_processes")
    assert (flag.is_enabled, flag.rollout_percent, flag.updated_by) == (True, 30, staff_user)
    changes = list(FlagChange.objects.all())
    assert len(changes) == 1  # unchanged rows write no audit row
    assert changes[0].source == "admin"
    assert changes[0].changed_by == staff_user
    assert changes[0].before == {"is_enabled": False, "rollout_percent": 100, "description": flag.description}
    assert changes[0].after["rollout_percent"] == 30


@pytest.mark.django_db
def test_percent_outside_range_is_refused(staff_client):
    flags = list(FeatureFlag.objects.order_by("name"))
    data = _changelist_post(flags, {"enable_worker_dedicated_processes": {"rollout_percent": 150}})
    response = staff_client.post(CHANGELIST, data)
    assert response.status_code == 200  # the changelist shows the form error
    assert FeatureFlag.objects.get(name="enable_worker_dedicated_processes").rollout_percent == 100
    assert FlagChange.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "expected"), [("enable_fully", (True, 100)), ("emergency_disable", (False, 0))])
def test_actions_change_each_flag_with_audit(staff_client, staff_user, action, expected):
    FeatureFlag.objects.filter(name="enable_ranking_snapshot_read").update(is_enabled=True, rollout_percent=10)
    targets = FeatureFlag.objects.filter(name__in=["enable_ranking_snapshot_read", "enable_object_storage_delivery"])
    response = staff_client.post(
        CHANGELIST, {"action": action, "_selected_action": [str(f.pk) for f in targets], "index": "0"}
    )
    assert response.status_code == 302
    for flag in targets.all():
        assert (flag.is_enabled, flag.rollout_percent) == expected
        assert flag.updated_by == staff_user
    assert FlagChange.objects.filter(source="admin").count() == 2


@pytest.mark.django_db
def test_actions_need_change_permission(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user(username="viewer", password="pw-123456789", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_featureflag"))
    client.force_login(viewer)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert b"emergency_disable" not in page.content
    flag = FeatureFlag.objects.get(name="enable_domain_event_outbox")
    client.post(CHANGELIST, {"action": "emergency_disable", "_selected_action": [str(flag.pk)], "index": "0"})
    flag.refresh_from_db()
    assert flag.is_enabled is True


@pytest.mark.django_db
def test_bulk_delete_is_removed_and_single_delete_is_audited(staff_client, staff_user):
    page = staff_client.get(CHANGELIST)
    assert b"delete_selected" not in page.content
    assert b"emergency_disable" in page.content
    flag = services.flag_set(name="temporary_flag", is_enabled=True, create=True)
    response = staff_client.post(f"/admin/flags/featureflag/{flag.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not FeatureFlag.objects.filter(name="temporary_flag").exists()
    deleted = FlagChange.objects.filter(flag_name="temporary_flag").order_by("-id").first()
    assert deleted.after is None and deleted.changed_by == staff_user


@pytest.mark.django_db
def test_change_page_shows_history_and_rollout_preview(staff_client, staff_user):
    flag = services.flag_set(
        name="enable_worker_dedicated_processes",
        is_enabled=True,
        rollout_percent=25,
        updated_by=staff_user,
        source="admin",
    )
    page = staff_client.get(f"/admin/flags/featureflag/{flag.pk}/change/")
    assert page.status_code == 200
    admitted = services.rollout_preview(25)
    assert 2300 <= admitted <= 2700
    assert f"{admitted:,}".encode() in page.content
    assert b"sample subjects" in page.content
    history = page.content.decode()
    assert "&quot;is_enabled&quot;: false, &quot;rollout_percent&quot;: 100" in history  # before
    assert "&quot;is_enabled&quot;: true, &quot;rollout_percent&quot;: 25" in history  # after


@pytest.mark.django_db
def test_add_view_creates_through_the_service(staff_client):
    response = staff_client.post(
        "/admin/flags/featureflag/add/",
        {
            "name": "Beta Search",
            "is_enabled": "on",
            "rollout_percent": "5",
            "description": "new search",
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
            "changes-MIN_NUM_FORMS": "0",
            "changes-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    flag = FeatureFlag.objects.get(name="beta_search")
    assert flag.rollout_percent == 5
    assert FlagChange.objects.get(flag_name="beta_search").before is None


@pytest.mark.django_db
def test_flag_change_history_is_read_only(staff_client):
    services.flag_set(name="enable_domain_event_outbox", rollout_percent=50)
    change = FlagChange.objects.get()
    assert staff_client.get("/admin/flags/flagchange/").status_code == 200
    assert staff_client.post(f"/admin/flags/flagchange/{change.pk}/delete/", {"post": "yes"}).status_code == 403
    assert FlagChange.objects.count() == 1
