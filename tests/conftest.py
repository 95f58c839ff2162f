import pytest
from django.contrib.auth import get_user_model


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test writes stored files into its own temporary directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="alice", password="alice-password-123")


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user(username="bob", password="bob-password-123")


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_superuser(username="staff", password="staff-password-123", email="s@e.com")
