"""OpenAPI descriptions of the API's response shapes (documentation only: the presenters
build the responses). drf-spectacular reads these through @extend_schema in the views."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers as s


class CsrfExemptSessionScheme(OpenApiAuthenticationExtension):
    target_class = "catalog.api.views.CsrfExemptSessionAuthentication"
    name = "viewerSessionAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class Error(s.Serializer):
    error = s.CharField()
    code = s.CharField(
        help_text="INVALID_INPUT, UNSUPPORTED_MEDIA, FILE_TOO_LARGE, PACK_NOT_FOUND, NOT_ALLOWED, PACK_FULL, "
        "MODERATION_LOCKED (409: the owner tried to undo a staff decision), "
        "PUBLISHER_RESERVED (400: the publisher name belongs to another creator), "
        "INVALID_CHARACTERS (400: control, bidi-override or lone surrogate characters), "
        "TOO_MANY_FIELDS (400: more form fields or files than allowed), "
        "IMAGE_TOO_COMPLEX (422: the conversion exceeds its time budget or cannot meet WhatsApp's limits), "
        "RATE_LIMITED (429: throttled or locked out after failed logins), ..."
    )


class Engagement(s.Serializer):
    open_count = s.IntegerField()
    like_count = s.IntegerField()
    dislike_count = s.IntegerField()
    download_count = s.IntegerField()
    score = s.IntegerField(help_text="likes - dislikes")
    updated_at = s.DateTimeField(allow_null=True)


class Signals(s.Serializer):
    ranking_score = s.FloatField()
    pack_score = s.FloatField()
    trend_score = s.FloatField()
    quality_score = s.FloatField()
    engagement_score = s.FloatField()
    diversity_score = s.FloatField()
    cohesion_score = s.FloatField()
    nsfw_level = s.ChoiceField(choices=["safe", "suggestive", "explicit"])
    sensitive_content = s.BooleanField()
    trending_now = s.BooleanField()


class WhatsApp(s.Serializer):
    phone = s.CharField()
    text = s.CharField()
    url = s.URLField()


class Moderation(s.Serializer):
    sensitive = s.BooleanField(help_text="staff marked the pack sensitive; only staff clear it")
    publishing_hold = s.BooleanField(help_text="staff unpublished the pack or hold it; publishing is refused")
    reason = s.CharField(allow_null=True, help_text="staff's reason for the mark or hold in place")
    updated_at = s.DateTimeField(allow_null=True)


class PackSummary(s.Serializer):
    id = s.IntegerField()
    pack_key = s.CharField()
    name = s.CharField()
    publisher = s.CharField(allow_null=True)
    description = s.CharField(allow_null=True)
    visibility = s.ChoiceField(choices=["public", "unlisted", "private"])
    status = s.ChoiceField(choices=["draft", "published"])
    pack_status = s.ChoiceField(choices=["building", "ready", "archived"])
    is_auto_pack = s.BooleanField()
    sticker_count = s.IntegerField()
    is_complete = s.BooleanField()
    cover_sticker_id = s.IntegerField(allow_null=True)
    cover_url = s.CharField(allow_null=True)
    api_url = s.CharField()
    web_url = s.CharField()
    whatsapp = WhatsApp(allow_null=True)
    tags = s.ListField(child=s.CharField())
    is_nsfw = s.BooleanField()
    engagement = Engagement()
    signals = Signals()
    version = s.IntegerField()
    created_at = s.DateTimeField()
    updated_at = s.DateTimeField()
    published_at = s.DateTimeField(allow_null=True)
    moderation = Moderation(allow_null=True, help_text="staff moderation, shown to the pack's owner only (else null)")


class Classification(s.Serializer):
    category = s.CharField(allow_null=True)
    confidence = s.FloatField()
    nsfw_score = s.FloatField()
    is_nsfw = s.BooleanField()
    tags = s.ListField(child=s.CharField())
    all_scores = s.DictField(child=s.FloatField())
    provider = s.CharField()
    model_name = s.CharField(allow_null=True)
    classification_version = s.CharField()
    classified_at = s.DateTimeField()


class Asset(s.Serializer):
    id = s.IntegerField()
    mimetype = s.CharField()
    is_animated = s.BooleanField()
    width = s.IntegerField(allow_null=True)
    height = s.IntegerField(allow_null=True)
    size_bytes = s.IntegerField()
    classification = Classification(allow_null=True)


class Item(s.Serializer):
    id = s.IntegerField()
    sticker_id = s.IntegerField()
    position = s.IntegerField()
    emojis = s.ListField(child=s.CharField())
    accessibility_label = s.CharField(allow_null=True)
    created_at = s.DateTimeField()
    asset_url = s.CharField(allow_null=True, help_text="null for sensitive stickers and anonymous viewers")
    tags = s.ListField(child=s.CharField())
    is_nsfw = s.BooleanField()
    asset = Asset()


class PackDetail(PackSummary):
    items = Item(many=True)
    owned_by_viewer = s.BooleanField()


class Pagination(s.Serializer):
    limit = s.IntegerField()
    offset = s.IntegerField()
    has_more = s.BooleanField()
    next_offset = s.IntegerField(allow_null=True, help_text="an integer whenever has_more is true")
    next_cursor = s.CharField(allow_null=True)


class PackList(s.Serializer):
    data = PackSummary(many=True)
    pagination = Pagination()
    filters = s.DictField()


class PackDetailEnvelope(s.Serializer):
    data = PackDetail()


class UploadResult(s.Serializer):
    data = Item()
    created = s.BooleanField(help_text="false: the same image or upload_id was already in the pack (200)")


class EngagementData(s.Serializer):
    pack_key = s.CharField()
    interaction = s.ChoiceField(choices=["open", "like", "dislike", "download"])
    recorded = s.BooleanField(
        help_text="false: a duplicate of this actor's earlier interaction (an interaction over its network's cap "
        "answers the same as a counted one)"
    )
    engagement = Engagement()


class EngagementEnvelope(s.Serializer):
    data = EngagementData()


class ViewerKey(s.Serializer):
    viewer_key = s.CharField(help_text="send as X-Viewer-Key; an unsigned or altered key is not an actor")


class ViewerKeyEnvelope(s.Serializer):
    data = ViewerKey()


class CatalogStats(s.Serializer):
    packs_total = s.IntegerField()
    stickers_total = s.IntegerField()
    creators_total = s.IntegerField()
    downloads_total = s.IntegerField()


class CatalogStatsEnvelope(s.Serializer):
    data = CatalogStats()


class CreatorStats(s.Serializer):
    packs_count = s.IntegerField()
    total_likes = s.IntegerField()
    total_opens = s.IntegerField()
    avg_pack_score = s.FloatField()


class Creator(s.Serializer):
    publisher = s.CharField()
    verified = s.BooleanField()
    badges = s.ListField(child=s.CharField())
    creator_score = s.FloatField()
    stats = CreatorStats()
    top_pack = PackSummary(allow_null=True)


class CreatorsEnvelope(s.Serializer):
    data = Creator(many=True)


class SeriesDay(s.Serializer):
    date = s.DateField()
    packs_published = s.IntegerField()
    stickers_created = s.IntegerField()
    clicks = s.IntegerField()
    likes = s.IntegerField()


class MarketplaceStats(s.Serializer):
    total_packs = s.IntegerField()
    total_stickers = s.IntegerField()
    total_clicks = s.IntegerField()
    total_likes = s.IntegerField()
    packs_last_7_days = s.IntegerField()
    stickers_without_pack = s.IntegerField()
    clicks_last_7_days = s.IntegerField()
    likes_last_7_days = s.IntegerField()
    series_last_7_days = SeriesDay(many=True)
    updated_at = s.DateTimeField()
    cache_seconds = s.IntegerField()


class OrphanSticker(s.Serializer):
    id = s.IntegerField()
    sticker_id = s.IntegerField()
    mimetype = s.CharField()
    is_animated = s.BooleanField()
    width = s.IntegerField(allow_null=True)
    height = s.IntegerField(allow_null=True)
    size_bytes = s.IntegerField()
    tags = s.ListField(child=s.CharField())
    category = s.CharField(allow_null=True)
    created_at = s.DateTimeField()


class OrphanList(s.Serializer):
    data = OrphanSticker(many=True)
    pagination = Pagination()


class SupportEnvelope(s.Serializer):
    data = WhatsApp()


class MeStats(s.Serializer):
    total = s.IntegerField()
    published = s.IntegerField()
    drafts = s.IntegerField()
    private = s.IntegerField()
    unlisted = s.IntegerField()
    public = s.IntegerField()


class MeData(s.Serializer):
    packs = PackSummary(many=True)
    stats = MeStats()


class MeEnvelope(s.Serializer):
    data = MeData()


class PackWrite(s.Serializer):
    name = s.CharField(max_length=120, required=False)
    publisher = s.CharField(max_length=120, required=False)
    description = s.CharField(max_length=1024, required=False)
    tags = s.ListField(child=s.CharField(max_length=32), max_length=8, required=False)
    visibility = s.ChoiceField(choices=["public", "unlisted", "private"], required=False)
    is_sensitive = s.BooleanField(required=False)


class UploadForm(s.Serializer):
    file = s.FileField(help_text="PNG, JPEG, WebP or GIF (animated kept), at most 20 MiB")
    emojis = s.CharField(required=False, help_text="space- or comma-separated")
    accessibility_label = s.CharField(required=False)
    upload_id = s.CharField(required=False, max_length=64, help_text="retry key: the same id returns the same item")


class StickerMove(s.Serializer):
    position = s.IntegerField(min_value=1, max_value=30, help_text="the sticker's new place (1..N); the others shift")


class TokenRequest(s.Serializer):
    username = s.CharField()
    password = s.CharField()


class TokenResponse(s.Serializer):
    token = s.CharField()


ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 413: Error, 415: Error, 422: Error, 429: Error}
