"""Creators (issue 19): a creator is a user. Their profile holds the display name /creators shows
and a verified badge that only staff set; reserved publisher names may be put on a pack only by
their holder or by staff. `AUTO_PACK_PUBLISHER` always belongs to the system account, which owns
the [AUTO] packs.
"""

import re
import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.errors import InvalidInput, NotAllowed, PublisherReserved
from catalog.models import CreatorProfile, ReservedPublisherName

NAME_MAX = 120


def publisher_key(name: str) -> str:
    """A name with case, width, accents, spacing and punctuation folded away, so "Ana Lima",
    "ANA-LIMA" and " ana lima. " are one name."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[\W_]+", "", text.casefold())[:NAME_MAX]


def _profile(user) -> CreatorProfile | None:
    try:
        return user.creator_profile
    except ObjectDoesNotExist:
        return None


def creator_display_name(user) -> str:
    profile = _profile(user)
    return ((profile.display_name if profile is not None else "") or user.get_username())[:NAME_MAX]


def creator_is_verified(user) -> bool:
    profile = _profile(user)
    return bool(profile is not None and profile.is_verified)


def creator_users(user_ids) -> dict:
    """id → user with its profile loaded (one query)."""
    users = get_user_model().objects.filter(pk__in=list(user_ids)).select_related("creator_profile")
    return {user.pk: user for user in users}


def system_account():
    """The account that owns the [AUTO] packs: inactive, no usable password, a verified profile
    named AUTO_PACK_PUBLISHER. Created on first use (safe under concurrent first uses)."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(
        **{User.USERNAME_FIELD: settings.SYSTEM_ACCOUNT_USERNAME},
        defaults={"is_active": False, "password": make_password(None)},
    )
    if user.is_active or user.has_usable_password():
        # Someone can log in as it: giving it the verified house name would be an impersonation.
        raise ImproperlyConfigured(
            f"SYSTEM_ACCOUNT_USERNAME={settings.SYSTEM_ACCOUNT_USERNAME!r} is an account people log in with"
        )
    CreatorProfile.objects.get_or_create(
        user=user, defaults={"display_name": settings.AUTO_PACK_PUBLISHER[:NAME_MAX], "is_verified": True}
    )
    return user


def _reserved_holder(key: str) -> int | None:
    """The user id holding this folded name (0 for the system account before it exists)."""
    if key == publisher_key(settings.AUTO_PACK_PUBLISHER):
        User = get_user_model()
        system = User.objects.filter(**{User.USERNAME_FIELD: settings.SYSTEM_ACCOUNT_USERNAME}).first()
        return system.pk if system is not None else 0
    return ReservedPublisherName.objects.filter(name_key=key).values_list("holder__user_id", flat=True).first()


def publisher_name_free_for(name: str, user) -> bool:
    """True when `name` (folded) is reserved by nobody or by `user`."""
    return _reserved_holder(publisher_key(name)) in (None, user.pk)


def publisher_check(*, user, publisher: str) -> None:
    """Refuse a publisher name reserved by another creator (staff may use any)."""
    key = publisher_key(publisher)
    if not key or user.is_staff:
        return
    holder = _reserved_holder(key)
    if holder is not None and holder != user.pk:
        raise PublisherReserved(f"the publisher name {publisher!r} is reserved for another creator")


def _staff(by) -> None:
    if by is None or not by.is_staff:
        raise NotAllowed("only staff verify creators and reserve names")


def publisher_name_reserve(*, name: str, holder, by) -> ReservedPublisherName:
    """Reserve a publisher name for `holder` (a user); idempotent for the same holder."""
    _staff(by)
    key = publisher_key(name)
    if not key:
        raise InvalidInput("a reserved name needs letters or digits")
    if not publisher_name_free_for(name, holder):
        raise PublisherReserved(f"{name!r} is already reserved for another creator")
    profile, _ = CreatorProfile.objects.get_or_create(user=holder)
    try:
        with transaction.atomic():
            reserved, _ = ReservedPublisherName.objects.get_or_create(
                name_key=key, defaults={"name": name.strip()[:NAME_MAX], "holder": profile, "created_by": by}
            )
    except IntegrityError:
        reserved = ReservedPublisherName.objects.get(name_key=key)
    if reserved.holder_id != profile.pk:
        raise PublisherReserved(f"{name!r} is already reserved for another creator")
    return reserved


def creator_verify(*, user, verified: bool, by, display_name: str | None = None) -> CreatorProfile:
    """Set a creator's verified badge (staff only); a verified creator's display name is reserved."""
    _staff(by)
    with transaction.atomic():
        profile, _ = CreatorProfile.objects.get_or_create(user=user)
        profile = CreatorProfile.objects.select_for_update().get(pk=profile.pk)
        if display_name is not None:
            profile.display_name = display_name.strip()[:NAME_MAX]
        if profile.is_verified != verified:
            profile.is_verified = verified
            profile.verified_by = by
            profile.verified_at = timezone.now()
        profile.save()
        if verified and profile.display_name:
            publisher_name_reserve(name=profile.display_name, holder=user, by=by)
    return profile
