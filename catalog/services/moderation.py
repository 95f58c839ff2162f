"""Staff moderation (SPEC §6): the admin's actions call these, one pack at a time, so every
change bumps the pack's version and publishes PACK_UPDATED like an owner's edit does."""

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from catalog.models import StickerPack
from catalog.services.packs import pack_changed


def _locked(pack_id: int) -> StickerPack:
    return StickerPack.objects.select_for_update().get(pk=pack_id)


def pack_unpublish(pack_id: int) -> bool:
    with transaction.atomic():
        pack = _locked(pack_id)
        if pack.status != StickerPack.Status.PUBLISHED:
            return False
        pack.status = StickerPack.Status.DRAFT
        pack_changed(pack, fields=["status"])
    return True


def pack_soft_delete(pack_id: int) -> bool:
    with transaction.atomic():
        pack = _locked(pack_id)
        if pack.deleted_at is not None:
            return False
        pack.deleted_at = timezone.now()
        pack_changed(pack, fields=["deleted_at"])
    return True


def pack_restore(pack_id: int) -> bool:
    with transaction.atomic():
        pack = _locked(pack_id)
        if pack.deleted_at is None:
            return False
        pack.deleted_at = None
        pack_changed(pack, fields=["deleted_at"])
    return True


def pack_set_sensitive(pack_id: int, sensitive: bool) -> bool:
    """Staff's sensitive mark: the pack becomes at least `suggestive` and its stickers count as
    NSFW for the classifier (and so for curation)."""
    with transaction.atomic():
        pack = _locked(pack_id)
        if pack.is_sensitive == sensitive:
            return False
        pack.is_sensitive = sensitive
        pack_changed(pack, fields=["is_sensitive"])
    return True


def user_ban(user_id: int) -> bool:
    """A banned user can neither log in nor upload: inactive, API tokens and sessions gone."""
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user_id)
        if not user.is_active:
            return False
        user.is_active = False
        user.save(update_fields=["is_active"])
        Token.objects.filter(user=user).delete()
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            session.delete()
    return True
