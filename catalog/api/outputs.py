"""Response shapes of the API (SPEC §3): one output serializer per shape, which renders the
responses (compiled, catalog.api.rendering) and which drf-spectacular documents. Field names are a
contract with the reference web client: add fields, never rename or reshape them.

Sources are the rows of catalog.selectors (PackCard, PackDetail, items, assets, snapshot signals)
and plain dicts of the aggregates. Context: `anonymous` (sensitive media get null URLs) and
`for_owner` (the pack's owner sees staff moderation)."""

from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers as s

from catalog import ranking
from catalog.api.rendering import BlankAsNullCharField, OutputSerializer, UtcDateTimeField
from catalog.models import NsfwLevel, StickerPack
from catalog.selectors import item_is_nsfw


def sticker_url(pack_key: str, asset_id: int) -> str:
    return f"/api/sticker-packs/{pack_key}/stickers/{asset_id}.webp"


@dataclass(frozen=True, slots=True)
class WhatsAppLink:
    phone: str
    text: str
    url: str


def whatsapp_link(phone: str, text: str) -> WhatsAppLink | None:
    if not phone:
        return None
    return WhatsAppLink(phone=phone, text=text, url=f"https://wa.me/{phone}?text={quote(text)}")


def pack_whatsapp(pack_key: str) -> WhatsAppLink | None:
    text = settings.WHATSAPP_MESSAGE_TEMPLATE.replace("{{pack_key}}", pack_key)
    return whatsapp_link(settings.WHATSAPP_BOT_PHONE, text)


class ErrorOut(OutputSerializer):
    """Every error of the API (SPEC §3)."""

    error = s.CharField(help_text="what went wrong, for people")
    code = s.CharField(
        help_text="machine-readable: INVALID_INPUT, INVALID_CHARACTERS (control, bidi-override or lone surrogate "
        "characters), TOO_MANY_FIELDS, NOT_AUTHENTICATED, NOT_ALLOWED, NOT_FOUND, PACK_NOT_FOUND, STICKER_NOT_FOUND, "
        "METHOD_NOT_ALLOWED, UNSUPPORTED_MEDIA, FILE_TOO_LARGE, INVALID_IMAGE, IMAGE_TOO_LARGE, TOO_MANY_FRAMES, "
        "IMAGE_TOO_COMPLEX, EMPTY_FILE, PACK_FULL, PACK_EMPTY, PACK_LIMIT_REACHED, POSITION_OUT_OF_RANGE, "
        "MODERATION_LOCKED (the owner tried to undo a staff decision), PUBLISHER_RESERVED (the publisher name "
        "belongs to another creator), INVALID_CREDENTIALS, CSRF_FAILED, RATE_LIMITED, STORAGE_ERROR, INTERNAL_ERROR"
    )


class EngagementOut(OutputSerializer):
    open_count = s.IntegerField()
    like_count = s.IntegerField()
    dislike_count = s.IntegerField()
    download_count = s.IntegerField()
    score = s.SerializerMethodField(help_text="likes - dislikes")
    updated_at = UtcDateTimeField(allow_null=True)

    def get_score(self, engagement) -> int:
        return engagement.like_count - engagement.dislike_count


class SignalsOut(OutputSerializer):
    """Of a snapshot, of live ranking.PackScores or of EmptySignals (the same attribute names)."""

    ranking_score = s.FloatField()
    pack_score = s.FloatField()
    trend_score = s.FloatField()
    quality_score = s.FloatField()
    engagement_score = s.FloatField()
    diversity_score = s.FloatField()
    cohesion_score = s.FloatField()
    nsfw_level = s.ChoiceField(choices=NsfwLevel.values)
    sensitive_content = s.BooleanField()
    trending_now = s.SerializerMethodField()

    def get_trending_now(self, signals) -> bool:
        return signals.trend_score >= ranking.TRENDING_THRESHOLD


class WhatsAppOut(OutputSerializer):
    phone = s.CharField()
    text = s.CharField()
    url = s.URLField()


class ModerationOut(OutputSerializer):
    """Staff moderation of a pack as its owner sees it (nobody else does)."""

    sensitive = s.BooleanField(
        source="moderation_sensitive", help_text="staff marked the pack sensitive; only staff clear it"
    )
    publishing_hold = s.BooleanField(
        source="moderation_hold", help_text="staff unpublished the pack or hold it; publishing is refused"
    )
    reason = BlankAsNullCharField(source="moderation_reason", help_text="staff's reason for the mark or hold")
    updated_at = UtcDateTimeField(source="moderated_at", allow_null=True)


class PackSummaryOut(OutputSerializer):
    """A PackCard (catalog.selectors.packs)."""

    id = s.IntegerField(source="pack.id")
    pack_key = s.CharField(source="pack.pack_key")
    name = s.CharField(source="pack.name")
    publisher = BlankAsNullCharField(source="pack.publisher")
    description = BlankAsNullCharField(source="pack.description")
    visibility = s.ChoiceField(source="pack.visibility", choices=StickerPack.Visibility.values)
    status = s.ChoiceField(source="pack.status", choices=StickerPack.Status.values)
    pack_status = s.ChoiceField(source="pack.pack_status", choices=StickerPack.PackStatus.values)
    is_auto_pack = s.BooleanField(source="pack.is_auto_pack")
    sticker_count = s.IntegerField()
    is_complete = s.SerializerMethodField(help_text=f"at least {settings.STICKER_PACK_MAX_ITEMS} stickers")
    cover_sticker_id = s.IntegerField(source="cover_asset_id", allow_null=True)
    cover_url = s.SerializerMethodField(help_text="null for sensitive packs and anonymous viewers")
    api_url = s.SerializerMethodField()
    web_url = s.SerializerMethodField()
    whatsapp = s.SerializerMethodField(help_text="Add to WhatsApp: null unless WHATSAPP_BOT_PHONE is configured")
    tags = s.ListField(source="pack.tags", child=s.CharField())
    is_nsfw = s.BooleanField()
    engagement = EngagementOut()
    signals = SignalsOut()
    version = s.IntegerField(source="pack.version")
    created_at = UtcDateTimeField(source="pack.created_at")
    updated_at = UtcDateTimeField(source="pack.updated_at")
    published_at = UtcDateTimeField(source="pack.published_at", allow_null=True)
    moderation = s.SerializerMethodField(help_text="staff moderation, shown to the pack's owner only (else null)")

    def get_is_complete(self, card) -> bool:
        return card.sticker_count >= settings.STICKER_PACK_MAX_ITEMS

    def get_cover_url(self, card) -> str | None:
        if card.cover_asset_id is None or (self.context["anonymous"] and card.is_nsfw):
            return None
        return sticker_url(card.pack.pack_key, card.cover_asset_id)

    def get_api_url(self, card) -> str:
        return f"/api/sticker-packs/{card.pack.pack_key}"

    def get_web_url(self, card) -> str:
        return f"/stickers/{card.pack.pack_key}"

    @extend_schema_field(WhatsAppOut(allow_null=True))
    def get_whatsapp(self, card):
        link = pack_whatsapp(card.pack.pack_key)
        return WhatsAppOut.render(link) if link is not None else None

    @extend_schema_field(ModerationOut(allow_null=True))
    def get_moderation(self, card):
        return ModerationOut.render(card.pack) if self.context.get("for_owner") else None


class ClassificationOut(OutputSerializer):
    category = BlankAsNullCharField()
    confidence = s.FloatField()
    nsfw_score = s.FloatField()
    is_nsfw = s.BooleanField()
    tags = s.ListField(child=s.CharField())
    all_scores = s.DictField(child=s.FloatField())
    provider = s.CharField()
    model_name = BlankAsNullCharField()
    classification_version = s.CharField()
    classified_at = UtcDateTimeField()


class AssetOut(OutputSerializer):
    id = s.IntegerField()
    mimetype = s.CharField()
    is_animated = s.BooleanField()
    width = s.IntegerField(allow_null=True)
    height = s.IntegerField(allow_null=True)
    size_bytes = s.IntegerField()
    classification = ClassificationOut(allow_null=True)


class ItemOut(OutputSerializer):
    """A StickerPackItem with its pack, asset and classification loaded."""

    id = s.IntegerField()
    sticker_id = s.IntegerField(source="asset_id", help_text="the asset id (the sticker URL's id)")
    position = s.IntegerField()
    emojis = s.ListField(child=s.CharField())
    accessibility_label = BlankAsNullCharField()
    created_at = UtcDateTimeField()
    asset_url = s.SerializerMethodField(help_text="null for sensitive stickers and anonymous viewers")
    tags = s.SerializerMethodField()
    is_nsfw = s.SerializerMethodField()
    asset = AssetOut()

    def get_asset_url(self, item) -> str | None:
        if self.context["anonymous"] and item_is_nsfw(item, item.pack):
            return None
        return sticker_url(item.pack.pack_key, item.asset_id)

    def get_tags(self, item) -> list[str]:
        classification = getattr(item.asset, "classification", None)
        return [str(tag) for tag in classification.tags] if classification is not None else []

    def get_is_nsfw(self, item) -> bool:
        return item_is_nsfw(item, item.pack)


class PackDetailOut(PackSummaryOut):
    """A PackDetail (catalog.selectors.details): the summary, its items and the viewer's ownership."""

    items = ItemOut(many=True)
    owned_by_viewer = s.BooleanField()


class PaginationOut(OutputSerializer):
    limit = s.IntegerField()
    offset = s.IntegerField()
    has_more = s.BooleanField()
    next_offset = s.IntegerField(allow_null=True, help_text="an integer whenever has_more is true")
    next_cursor = s.CharField(allow_null=True, help_text="opaque; send it back as `cursor` for the next page")


class FiltersOut(OutputSerializer):
    """The list's filters as applied."""

    q = s.CharField(allow_null=True)
    sort = s.ChoiceField(choices=["ranking", "trending", "recent", "likes", "downloads"])
    categories = s.ListField(child=s.CharField())
    include_sensitive = s.BooleanField(help_text="false for anonymous viewers, whatever they asked")
    visibility = s.CharField(help_text="always public: only public packs are listed")


class PackListOut(OutputSerializer):
    data = PackSummaryOut(many=True)
    pagination = PaginationOut()
    filters = FiltersOut()


class PackDetailEnvelopeOut(OutputSerializer):
    data = PackDetailOut()


class UploadResultOut(OutputSerializer):
    data = ItemOut()
    created = s.BooleanField(help_text="false: the same image or upload_id was already in the pack (200)")


class EngagementDataOut(OutputSerializer):
    pack_key = s.CharField()
    interaction = s.ChoiceField(choices=["open", "like", "dislike", "download"])
    recorded = s.BooleanField(
        help_text="false: a duplicate of this actor's earlier interaction (an interaction over its network's cap "
        "answers the same as a counted one)"
    )
    engagement = EngagementOut()


class EngagementEnvelopeOut(OutputSerializer):
    data = EngagementDataOut()


class ViewerKeyOut(OutputSerializer):
    viewer_key = s.CharField(help_text="send as X-Viewer-Key; an unsigned or altered key is not an actor")


class ViewerKeyEnvelopeOut(OutputSerializer):
    data = ViewerKeyOut()


class CatalogStatsOut(OutputSerializer):
    packs_total = s.IntegerField()
    stickers_total = s.IntegerField()
    creators_total = s.IntegerField()
    downloads_total = s.IntegerField()


class CatalogStatsEnvelopeOut(OutputSerializer):
    data = CatalogStatsOut()


class CreatorStatsOut(OutputSerializer):
    packs_count = s.IntegerField()
    total_likes = s.IntegerField()
    total_opens = s.IntegerField()
    avg_pack_score = s.FloatField()


class CreatorOut(OutputSerializer):
    publisher = s.CharField(help_text="the creator's display name")
    verified = s.BooleanField(help_text="set by staff")
    badges = s.ListField(child=s.ChoiceField(choices=["prolific", "loved", "verified"]))
    creator_score = s.FloatField()
    stats = CreatorStatsOut()
    top_pack = PackSummaryOut(allow_null=True, help_text="their best listed, safe pack")


class CreatorsEnvelopeOut(OutputSerializer):
    data = CreatorOut(many=True)


class SeriesDayOut(OutputSerializer):
    date = s.DateField()
    packs_published = s.IntegerField()
    stickers_created = s.IntegerField()
    clicks = s.IntegerField()
    likes = s.IntegerField()


class MarketplaceStatsOut(OutputSerializer):
    total_packs = s.IntegerField()
    total_stickers = s.IntegerField()
    total_clicks = s.IntegerField()
    total_likes = s.IntegerField()
    packs_last_7_days = s.IntegerField()
    stickers_without_pack = s.IntegerField()
    clicks_last_7_days = s.IntegerField()
    likes_last_7_days = s.IntegerField()
    series_last_7_days = SeriesDayOut(many=True)
    updated_at = s.DateTimeField()
    cache_seconds = s.IntegerField()


class OrphanStickerOut(OutputSerializer):
    """A sticker in no listed pack (a StickerAsset): metadata only, no uploader and no byte URL."""

    id = s.IntegerField()
    sticker_id = s.IntegerField(source="id")
    mimetype = s.CharField()
    is_animated = s.BooleanField()
    width = s.IntegerField(allow_null=True)
    height = s.IntegerField(allow_null=True)
    size_bytes = s.IntegerField()
    tags = s.SerializerMethodField()
    category = s.SerializerMethodField()
    created_at = UtcDateTimeField()

    def get_tags(self, asset) -> list[str]:
        classification = getattr(asset, "classification", None)
        return [str(tag) for tag in classification.tags] if classification is not None else []

    def get_category(self, asset) -> str | None:
        classification = getattr(asset, "classification", None)
        return (classification.category or None) if classification is not None else None


class OrphanListOut(OutputSerializer):
    data = OrphanStickerOut(many=True)
    pagination = PaginationOut()


class SupportEnvelopeOut(OutputSerializer):
    data = WhatsAppOut()


class OwnerStatsOut(OutputSerializer):
    total = s.IntegerField()
    published = s.IntegerField()
    drafts = s.IntegerField()
    private = s.IntegerField()
    unlisted = s.IntegerField()
    public = s.IntegerField()


class OwnerDashboardOut(OutputSerializer):
    """An OwnerDashboard (catalog.selectors.owner)."""

    packs = PackSummaryOut(many=True)
    stats = OwnerStatsOut()


class OwnerDashboardEnvelopeOut(OutputSerializer):
    data = OwnerDashboardOut()


class TokenResponseOut(OutputSerializer):
    token = s.CharField(help_text="send as `Authorization: Token <token>`")
