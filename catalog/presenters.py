"""Response shapes of the public API (SPEC §3). Field names are a contract with the web client."""

from urllib.parse import quote

from django.conf import settings

from catalog import ranking

SIGNAL_FIELDS = ranking.SCORE_FIELDS


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def sticker_url(pack_key: str, asset_id: int) -> str:
    return f"/api/sticker-packs/{pack_key}/stickers/{asset_id}.webp"


def whatsapp_link(phone: str, text: str) -> dict | None:
    if not phone:
        return None
    return {"phone": phone, "text": text, "url": f"https://wa.me/{phone}?text={quote(text)}"}


def pack_whatsapp(pack_key: str) -> dict | None:
    text = settings.WHATSAPP_MESSAGE_TEMPLATE.replace("{{pack_key}}", pack_key)
    return whatsapp_link(settings.WHATSAPP_BOT_PHONE, text)


def engagement_data(engagement) -> dict:
    opens = engagement.open_count if engagement else 0
    likes = engagement.like_count if engagement else 0
    dislikes = engagement.dislike_count if engagement else 0
    return {
        "open_count": opens,
        "like_count": likes,
        "dislike_count": dislikes,
        "download_count": engagement.download_count if engagement else 0,
        "score": likes - dislikes,
        "updated_at": _iso(engagement.updated_at) if engagement else None,
    }


def signals(source) -> dict:
    """`signals` of a PackScoreSnapshot or of live ranking.PackScores (same attribute names)."""
    data = {name: getattr(source, name) for name in SIGNAL_FIELDS}
    data["nsfw_level"] = source.nsfw_level
    data["sensitive_content"] = source.sensitive_content
    data["trending_now"] = source.trend_score >= ranking.TRENDING_THRESHOLD
    return data


def empty_signals(pack) -> dict:
    """A pack with no snapshot yet (drafts in `me`): zeros, sensitivity from the owner's mark."""
    data = dict.fromkeys(SIGNAL_FIELDS, 0.0)
    data["nsfw_level"] = "suggestive" if pack.marked_sensitive else "safe"
    data["sensitive_content"] = pack.marked_sensitive
    data["trending_now"] = False
    return data


def moderation_data(pack) -> dict:
    """Staff moderation of the pack as its owner sees it (nobody else does)."""
    return {
        "sensitive": pack.moderation_sensitive,
        "publishing_hold": pack.moderation_hold,
        "reason": pack.moderation_reason or None,
        "updated_at": _iso(pack.moderated_at),
    }


def pack_summary(
    pack,
    *,
    signals: dict,
    sticker_count: int,
    cover_asset_id: int | None,
    anonymous: bool,
    for_owner: bool = False,
) -> dict:
    is_nsfw = bool(signals["sensitive_content"] or pack.marked_sensitive)
    hide_media = is_nsfw and anonymous
    cover_url = sticker_url(pack.pack_key, cover_asset_id) if cover_asset_id and not hide_media else None
    return {
        "id": pack.id,
        "pack_key": pack.pack_key,
        "name": pack.name,
        "publisher": pack.publisher or None,
        "description": pack.description or None,
        "visibility": pack.visibility,
        "status": pack.status,
        "pack_status": pack.pack_status,
        "is_auto_pack": pack.is_auto_pack,
        "sticker_count": sticker_count,
        "is_complete": sticker_count >= settings.STICKER_PACK_MAX_ITEMS,
        "cover_sticker_id": cover_asset_id,
        "cover_url": cover_url,
        "api_url": f"/api/sticker-packs/{pack.pack_key}",
        "web_url": f"/stickers/{pack.pack_key}",
        "whatsapp": pack_whatsapp(pack.pack_key),
        "tags": [str(t) for t in (pack.tags or [])],
        "is_nsfw": is_nsfw,
        "engagement": engagement_data(getattr(pack, "engagement", None)),
        "signals": signals,
        "version": pack.version,
        "created_at": _iso(pack.created_at),
        "updated_at": _iso(pack.updated_at),
        "published_at": _iso(pack.published_at),
        "moderation": moderation_data(pack) if for_owner else None,
    }


def classification_data(classification) -> dict | None:
    if classification is None:
        return None
    return {
        "category": classification.category or None,
        "confidence": classification.confidence,
        "nsfw_score": classification.nsfw_score,
        "is_nsfw": classification.is_nsfw,
        "tags": list(classification.tags or []),
        "all_scores": dict(classification.all_scores or {}),
        "provider": classification.provider,
        "model_name": classification.model_name or None,
        "classification_version": classification.classification_version,
        "classified_at": _iso(classification.classified_at),
    }


def asset_data(asset) -> dict:
    return {
        "id": asset.id,
        "mimetype": asset.mimetype,
        "is_animated": asset.is_animated,
        "width": asset.width,
        "height": asset.height,
        "size_bytes": asset.size_bytes,
        "classification": classification_data(getattr(asset, "classification", None)),
    }


def item_is_nsfw(item, pack) -> bool:
    classification = getattr(item.asset, "classification", None)
    return bool(pack.marked_sensitive or (classification is not None and classification.is_nsfw))


def pack_is_sensitive(pack) -> bool:
    """The owner's or staff's mark, or sensitive content found by the last ranking snapshot."""
    snapshot = getattr(pack, "snapshot", None)
    return bool(pack.marked_sensitive or (snapshot is not None and snapshot.sensitive_content))


def item_is_classified_safe(item, pack) -> bool:
    """Classified, not NSFW, in a pack that is not sensitive: the only stickers any cache may keep
    for long (an unclassified sticker may still turn out NSFW)."""
    classification = getattr(item.asset, "classification", None)
    return classification is not None and not item_is_nsfw(item, pack) and not pack_is_sensitive(pack)


def item_data(item, pack, *, anonymous: bool) -> dict:
    classification = getattr(item.asset, "classification", None)
    is_nsfw = item_is_nsfw(item, pack)
    return {
        "id": item.id,
        "sticker_id": item.asset_id,
        "position": item.position,
        "emojis": [str(e) for e in (item.emojis or [])],
        "accessibility_label": item.accessibility_label or None,
        "created_at": _iso(item.created_at),
        "asset_url": None if (is_nsfw and anonymous) else sticker_url(pack.pack_key, item.asset_id),
        "tags": list(classification.tags or []) if classification else [],
        "is_nsfw": is_nsfw,
        "asset": asset_data(item.asset),
    }


def orphan_sticker_data(asset) -> dict:
    """A sticker in no listed pack: metadata only, no uploader and no byte URL."""
    classification = getattr(asset, "classification", None)
    return {
        "id": asset.id,
        "sticker_id": asset.id,
        "mimetype": asset.mimetype,
        "is_animated": asset.is_animated,
        "width": asset.width,
        "height": asset.height,
        "size_bytes": asset.size_bytes,
        "tags": list(classification.tags or []) if classification else [],
        "category": (classification.category or None) if classification else None,
        "created_at": _iso(asset.created_at),
    }
