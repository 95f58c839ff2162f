"""Owner changes to packs (SPEC §3): create, edit, soft-delete, publish, remove a sticker.

Every change bumps `version` and publishes PACK_UPDATED in the same transaction.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.errors import Conflict, InvalidInput, ModerationLocked, NotAllowed, PackNotFound, StickerNotFound
from catalog.models import StickerPack, StickerPackItem
from catalog.names import EventType
from catalog.selectors import normal_pack_key, pack_is_listed, pack_is_visible_to
from catalog.services.creators import creator_display_name, publisher_check
from catalog.services.readcache import pack_reads_changed
from catalog.validation import bounded_list, clean_text, split_bounded, visible
from outbox.services import publish

MAX_TAGS = 8
MAX_TAG_LENGTH = 32
MAX_TAG_INPUTS = 2 * MAX_TAGS  # entries a request may send (duplicates and blanks fold away)
TEXT_LIMITS = {"name": 120, "publisher": 120, "description": 1024}
EDITABLE = ("name", "publisher", "description", "tags", "visibility", "is_sensitive")


def _locked_by_staff(pack: StickerPack, what: str) -> ModerationLocked:
    reason = f": {pack.moderation_reason}" if pack.moderation_reason else ""
    return ModerationLocked(f"{what} was set by staff{reason}; only staff can lift it")


def _clean_text(field: str, value, *, required: bool = False) -> str:
    text = clean_text(value, field, max_length=TEXT_LIMITS[field], required=required, multiline=field == "description")
    if field == "publisher" and text and not visible(text):
        raise InvalidInput("publisher is empty once invisible characters go")
    return text


def clean_tags(value) -> list[str]:
    """At most MAX_TAGS distinct slugs. The list's length is bounded before any per-tag work
    (MAX_TAG_INPUTS entries, each at most 4 x MAX_TAG_LENGTH characters), duplicates found in a set."""
    if value is None:
        return []
    if isinstance(value, str):
        value = split_bounded(value, "tags", max_items=MAX_TAG_INPUTS)
    bounded_list(value, "tags", max_items=MAX_TAG_INPUTS)
    if not all(isinstance(t, str) for t in value):
        raise InvalidInput("tags must be a list of strings")
    tags: dict[str, None] = {}
    for raw in value:
        if len(raw) > 4 * MAX_TAG_LENGTH:
            raise InvalidInput(f"a tag is longer than {MAX_TAG_LENGTH} characters")
        tag = slugify(raw)[:MAX_TAG_LENGTH]
        if tag:
            tags[tag] = None
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags")
    return list(tags)


def clean_pack_fields(data: dict, *, partial: bool) -> dict:
    if not isinstance(data, dict):
        raise InvalidInput("expected a JSON object")
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"unknown or read-only fields: {', '.join(sorted(unknown))}")
    values: dict = {}
    for field in ("name", "publisher", "description"):
        if field in data or (field == "name" and not partial):
            values[field] = _clean_text(field, data.get(field), required=field == "name")
    if "tags" in data:
        values["tags"] = clean_tags(data["tags"])
    if "visibility" in data:
        if data["visibility"] not in StickerPack.Visibility.values:
            raise InvalidInput(f"visibility must be one of {', '.join(StickerPack.Visibility.values)}")
        values["visibility"] = data["visibility"]
    if "is_sensitive" in data:
        if not isinstance(data["is_sensitive"], bool):
            raise InvalidInput("is_sensitive must be true or false")
        values["is_sensitive"] = data["is_sensitive"]
    return values


def new_pack_key(name: str) -> str:
    return normal_pack_key(f"{(slugify(name) or 'pack')[:48].strip('-') or 'pack'}-{secrets.token_hex(4)}")


def pack_changed(pack: StickerPack, *, fields: list[str], content: bool = False, request_id: str = "") -> None:
    """Bump the version, save, and publish PACK_UPDATED (inside the caller's transaction); the
    event says when the change is a publication (its handler then refreshes the snapshot at once)."""
    now = timezone.now()
    pack.version += 1
    pack.updated_at = now
    extra = ["version", "updated_at"]
    if content:
        pack.content_updated_at = now
        extra.append("content_updated_at")
    if pack.first_listed_at is None and pack_is_listed(pack):
        pack.first_listed_at = now
        extra.append("first_listed_at")
    pack.save(update_fields=sorted(set(fields) | set(extra)))
    pack_reads_changed([pack.pack_key])
    publish(
        event_type=EventType.PACK_UPDATED,
        aggregate_type="pack",
        aggregate_id=pack.id,
        payload={
            "pack_id": pack.id,
            "version": pack.version,
            "fields": sorted(fields),
            "published": "status" in fields and pack.status == StickerPack.Status.PUBLISHED,
        },
        idempotency_key=f"pack:{pack.id}:v{pack.version}",
        request_id=request_id,
    )


def owned_pack_for_update(*, pack_key: str, user) -> StickerPack:
    """The caller's pack, row-locked for this transaction; 404 if absent, 403 if not theirs."""
    pack = (
        StickerPack.objects.select_for_update()
        .filter(pack_key=normal_pack_key(pack_key), deleted_at__isnull=True)
        .first()
    )
    if pack is None:
        raise PackNotFound("pack not found")
    if pack.owner_id != user.pk:
        if not pack_is_visible_to(pack, user):
            raise PackNotFound("pack not found")
        raise NotAllowed("only the pack's owner may change it")
    return pack


def pack_create(*, user, data: dict, request_id: str = "") -> StickerPack:
    values = clean_pack_fields(data, partial=False)
    values.setdefault("publisher", "")
    if not values["publisher"]:
        values["publisher"] = creator_display_name(user)
    publisher_check(user=user, publisher=values["publisher"])
    with transaction.atomic():
        # Lock the owner's row: concurrent creates by one owner count one at a time.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        owned = StickerPack.objects.filter(owner=user, deleted_at__isnull=True).count()
        if owned >= settings.STICKER_PACK_MAX_PACKS_PER_OWNER:
            raise Conflict(
                f"you already have {owned} packs (limit {settings.STICKER_PACK_MAX_PACKS_PER_OWNER})",
                code="PACK_LIMIT_REACHED",
            )
        now = timezone.now()
        pack = StickerPack.objects.create(
            pack_key=new_pack_key(values["name"]),
            owner=user,
            status=StickerPack.Status.DRAFT,
            pack_status=StickerPack.PackStatus.READY,
            created_at=now,
            updated_at=now,
            content_updated_at=now,
            version=0,
            **values,
        )
        pack_changed(pack, fields=list(values), request_id=request_id)
    return pack


def pack_update(*, user, pack_key: str, data: dict, request_id: str = "") -> StickerPack:
    values = clean_pack_fields(data, partial=True)
    with transaction.atomic():
        pack = owned_pack_for_update(pack_key=pack_key, user=user)
        if values.get("is_sensitive") is False and pack.moderation_sensitive:
            raise _locked_by_staff(pack, "the sensitive mark")
        changed = [field for field, value in values.items() if getattr(pack, field) != value]
        if "publisher" in changed:
            publisher_check(user=user, publisher=values["publisher"])
        if not changed:
            return pack
        for field in changed:
            setattr(pack, field, values[field])
        pack_changed(pack, fields=changed, request_id=request_id)
    return pack


def pack_delete(*, user, pack_key: str, request_id: str = "") -> StickerPack:
    with transaction.atomic():
        pack = owned_pack_for_update(pack_key=pack_key, user=user)
        pack.deleted_at = timezone.now()
        pack_changed(pack, fields=["deleted_at"], request_id=request_id)
    return pack


def pack_publish(*, user, pack_key: str, request_id: str = "") -> StickerPack:
    with transaction.atomic():
        pack = owned_pack_for_update(pack_key=pack_key, user=user)
        if pack.moderation_hold:
            raise _locked_by_staff(pack, "a hold on publishing")
        if not pack.items.exists():
            raise Conflict("add at least one sticker before publishing", code="PACK_EMPTY")
        if pack.status == StickerPack.Status.PUBLISHED:
            return pack
        pack.status = StickerPack.Status.PUBLISHED
        pack.published_at = pack.published_at or timezone.now()
        pack_changed(pack, fields=["status", "published_at"], request_id=request_id)
    return pack


def compact_positions(pack: StickerPack) -> None:
    """Renumber the pack's items 1..N in order after removals (inside the caller's transaction).

    One row at a time, lowest first: (pack, position) stays unique at every step.
    """
    for expected, item in enumerate(StickerPackItem.objects.filter(pack=pack).order_by("position"), start=1):
        if item.position != expected:
            item.position = expected
            item.save(update_fields=["position"])


def sticker_remove(*, user, pack_key: str, asset_id: int, request_id: str = "") -> StickerPack:
    """Remove one sticker; later positions move down so they stay dense (1..N)."""
    with transaction.atomic():
        pack = owned_pack_for_update(pack_key=pack_key, user=user)
        item = StickerPackItem.objects.filter(pack=pack, asset_id=asset_id).first()
        if item is None:
            raise StickerNotFound("sticker not found in this pack")
        item.delete()
        compact_positions(pack)
        fields = []
        if pack.cover_id == asset_id:
            first = StickerPackItem.objects.filter(pack=pack).order_by("position").first()
            pack.cover_id = first.asset_id if first else None
            fields.append("cover")
        pack_changed(pack, fields=fields, content=True, request_id=request_id)
    return pack


def sticker_move(*, user, pack_key: str, asset_id: int, position, request_id: str = "") -> StickerPack:
    """Move one sticker to `position` (1..N); the stickers between shift by one, so positions
    stay dense and unique at every step."""
    if isinstance(position, bool) or not isinstance(position, int):
        raise InvalidInput("position must be an integer")
    with transaction.atomic():
        pack = owned_pack_for_update(pack_key=pack_key, user=user)
        items = list(StickerPackItem.objects.filter(pack=pack).order_by("position"))
        moving = next((item for item in items if item.asset_id == asset_id), None)
        if moving is None:
            raise StickerNotFound("sticker not found in this pack")
        if position < 1:
            raise InvalidInput(f"position must be between 1 and {len(items)}")
        if position > len(items):  # valid for some pack, not for this one now
            raise Conflict(f"position must be between 1 and {len(items)}", code="POSITION_OUT_OF_RANGE")
        start = moving.position
        if position == start:
            return pack
        # The check constraint allows no parking slot outside 1..30 (a full pack has none free
        # inside it either), so the moving row leaves and comes back with its own id.
        item_id = moving.pk
        moving.delete()
        if position > start:
            shifted, delta = [i for i in items if start < i.position <= position], -1
        else:
            shifted, delta = [i for i in reversed(items) if position <= i.position < start], 1
        for item in shifted:  # each step moves into the slot the previous one freed
            item.position += delta
            item.save(update_fields=["position"])
        moving.pk, moving.position = item_id, position
        moving.save(force_insert=True)
        # The same stickers in another order: not new content (the ranking's age is kept).
        pack_changed(pack, fields=[], request_id=request_id)
    return pack
