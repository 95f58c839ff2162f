"""Staff moderation (SPEC §6, issue 19). The admin's actions call these, one pack at a time.

Moderation state is staff-owned and kept apart from the owner's fields: a staff sensitive mark
(`moderation_sensitive`, the owner's own mark is `is_sensitive`) and a hold on publishing
(`moderation_hold`, set by a staff unpublish). The owner sees both with the reason; their API
refuses to undo them (MODERATION_LOCKED, catalog.services.packs). Every change bumps the pack's
version and publishes PACK_UPDATED like an owner's edit, and writes an append-only
PackModerationChange (who, when, before, after, reason) in the same transaction.
"""

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from catalog.errors import InvalidInput
from catalog.models import ModerationAction, PackModerationChange, StickerPack
from catalog.services.packs import pack_changed

REASON_MAX = 500
# What an audit row records of the pack, before and after.
LOCKING_ACTIONS = {ModerationAction.UNPUBLISH, ModerationAction.MARK_SENSITIVE}
AUDITED_FIELDS = ("status", "visibility", "deleted_at", "is_sensitive", "moderation_sensitive", "moderation_hold")


def _locked(pack_id: int) -> StickerPack:
    return StickerPack.objects.select_for_update().get(pk=pack_id)


def _value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def pack_state(pack: StickerPack, fields=AUDITED_FIELDS) -> dict:
    return {field: _value(getattr(pack, field)) for field in fields}


def clean_reason(reason: str) -> str:
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidInput("a moderation decision needs a reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"the reason is longer than {REASON_MAX} characters")
    return reason


def _audit(pack: StickerPack, *, action: str, by, reason: str, source: str, before: dict, after: dict) -> None:
    PackModerationChange.objects.create(
        pack=pack,
        pack_key=pack.pack_key,
        action=action,
        reason=reason,
        changed_by=by,
        source=source,
        before=before,
        after=after,
    )


def _moderate(
    pack_id: int, *, action: str, by, reason: str, source: str, apply: Callable[[StickerPack], list[str]]
) -> bool:
    """Lock the pack, apply one decision; False (nothing written) when it changes nothing."""
    reason = clean_reason(reason)
    with transaction.atomic():
        pack = _locked(pack_id)
        before = pack_state(pack)
        fields = apply(pack)
        if not fields:
            return False
        # The reason the owner sees is the one of the latest lock put in place; a lift keeps it
        # while another lock remains, and clears it when none does.
        if not (pack.moderation_sensitive or pack.moderation_hold):
            pack.moderation_reason = ""
        elif action in LOCKING_ACTIONS:
            pack.moderation_reason = reason
        pack.moderated_at = timezone.now()
        pack_changed(pack, fields=[*fields, "moderation_reason", "moderated_at"])
        _audit(pack, action=action, by=by, reason=reason, source=source, before=before, after=pack_state(pack))
    return True


def pack_unpublish(*, pack_id: int, by, reason: str, source: str = "admin") -> bool:
    """Unpublish (if published) and hold publishing until staff lift the hold."""

    def apply(pack: StickerPack) -> list[str]:
        fields = []
        if pack.status == StickerPack.Status.PUBLISHED:
            pack.status = StickerPack.Status.DRAFT
            fields.append("status")
        if not pack.moderation_hold:
            pack.moderation_hold = True
            fields.append("moderation_hold")
        return fields

    return _moderate(pack_id, action=ModerationAction.UNPUBLISH, by=by, reason=reason, source=source, apply=apply)


def pack_hold_lift(*, pack_id: int, by, reason: str, source: str = "admin") -> bool:
    """Lift the hold: the owner may publish again (the pack stays a draft until they do)."""

    def apply(pack: StickerPack) -> list[str]:
        if not pack.moderation_hold:
            return []
        pack.moderation_hold = False
        return ["moderation_hold"]

    return _moderate(pack_id, action=ModerationAction.LIFT_HOLD, by=by, reason=reason, source=source, apply=apply)


def pack_set_sensitive(*, pack_id: int, sensitive: bool, by, reason: str, source: str = "admin") -> bool:
    """Staff's sensitive mark: the pack is at least `suggestive` and its stickers count as NSFW in
    this pack (and for curation), whatever the owner's own mark says; only staff clear it."""

    def apply(pack: StickerPack) -> list[str]:
        if pack.moderation_sensitive == sensitive:
            return []
        pack.moderation_sensitive = sensitive
        return ["moderation_sensitive"]

    action = ModerationAction.MARK_SENSITIVE if sensitive else ModerationAction.UNMARK_SENSITIVE
    return _moderate(pack_id, action=action, by=by, reason=reason, source=source, apply=apply)


def pack_soft_delete(*, pack_id: int, by, reason: str, source: str = "admin") -> bool:
    def apply(pack: StickerPack) -> list[str]:
        if pack.deleted_at is not None:
            return []
        pack.deleted_at = timezone.now()
        return ["deleted_at"]

    return _moderate(pack_id, action=ModerationAction.SOFT_DELETE, by=by, reason=reason, source=source, apply=apply)


def pack_restore(*, pack_id: int, by, reason: str, source: str = "admin") -> bool:
    def apply(pack: StickerPack) -> list[str]:
        if pack.deleted_at is None:
            return []
        pack.deleted_at = None
        return ["deleted_at"]

    return _moderate(pack_id, action=ModerationAction.RESTORE, by=by, reason=reason, source=source, apply=apply)


def pack_staff_edit(pack: StickerPack, *, fields: list[str], by, source: str = "admin") -> None:
    """A staff edit of the pack's own fields in the admin (the form already set them on `pack`):
    saved like an owner's edit and audited with the values before and after."""
    if not fields:
        return
    with transaction.atomic():
        stored = _locked(pack.pk)
        audited = [field for field in fields if hasattr(stored, field)]
        before = pack_state(stored, audited)
        pack_changed(pack, fields=fields)
        _audit(
            pack,
            action=ModerationAction.EDIT,
            by=by,
            reason="",
            source=source,
            before=_jsonable(before),
            after=_jsonable(pack_state(pack, audited)),
        )


def _jsonable(state: dict) -> dict:
    """Foreign keys by id, anything else as stored (JSON lists stay lists)."""
    return {field: getattr(value, "pk", value) for field, value in state.items()}


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
