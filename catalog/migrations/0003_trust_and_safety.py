"""Trust and safety (issue 19): staff moderation state and its audit trail, creator profiles and
reserved publisher names, per-owner assets, the first time a pack was listed.

Data steps: assets shared across owners are split so each owner's packs hold the owner's own row
(same bytes and storage key; the copy is classified anew by the next cycle); packs listed now are
marked as listed since their publication; auto packs move to the system account; pack keys are
lower-cased. The split cannot be undone by the reverse migration (sha256 would no longer be unique).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


ASSET_COPY_FIELDS = (
    "sha256",
    "mimetype",
    "is_animated",
    "width",
    "height",
    "size_bytes",
    "storage_key",
    "object_storage_synced_at",
    "perceptual_hash",
)


def split_shared_assets(apps, schema_editor):
    """Every user pack holds assets of its own owner: items pointing at another owner's asset get
    the pack owner's copy (created once per owner and image)."""
    StickerAsset = apps.get_model("catalog", "StickerAsset")
    StickerPack = apps.get_model("catalog", "StickerPack")
    StickerPackItem = apps.get_model("catalog", "StickerPackItem")
    items = (
        StickerPackItem.objects.filter(pack__owner__isnull=False, pack__is_auto_pack=False)
        .select_related("asset", "pack")
        .order_by("id")
    )
    copies: dict[tuple[int, str], int] = {}
    for item in items.iterator(chunk_size=500):
        asset, owner_id = item.asset, item.pack.owner_id
        if asset.owner_id == owner_id:
            continue
        key = (owner_id, asset.sha256)
        if key not in copies:
            own = StickerAsset.objects.filter(owner_id=owner_id, sha256=asset.sha256).first()
            if own is None:
                own = StickerAsset.objects.create(
                    owner_id=owner_id, **{field: getattr(asset, field) for field in ASSET_COPY_FIELDS}
                )
            copies[key] = own.id
        StickerPackItem.objects.filter(pk=item.pk).update(asset_id=copies[key])
        StickerPack.objects.filter(pk=item.pack_id, cover_id=asset.id).update(cover_id=copies[key])


def backfill_first_listed_at(apps, schema_editor):
    StickerPack = apps.get_model("catalog", "StickerPack")
    listed = StickerPack.objects.filter(
        visibility="public", status="published", pack_status="ready", deleted_at__isnull=True, first_listed_at=None
    )
    for pack in listed.only("id", "published_at", "created_at").iterator(chunk_size=500):
        StickerPack.objects.filter(pk=pack.pk).update(first_listed_at=pack.published_at or pack.created_at)


def auto_packs_to_the_system_account(apps, schema_editor):
    from django.contrib.auth.hashers import make_password

    StickerPack = apps.get_model("catalog", "StickerPack")
    CreatorProfile = apps.get_model("catalog", "CreatorProfile")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    orphaned = StickerPack.objects.filter(is_auto_pack=True, owner__isnull=True)
    if not orphaned.exists():
        return  # catalog.services.creators.system_account() creates it when first needed
    system, _ = User.objects.get_or_create(
        username=settings.SYSTEM_ACCOUNT_USERNAME, defaults={"is_active": False, "password": make_password(None)}
    )
    CreatorProfile.objects.get_or_create(
        user_id=system.pk, defaults={"display_name": settings.AUTO_PACK_PUBLISHER[:120], "is_verified": True}
    )
    orphaned.update(owner_id=system.pk)


def lower_case_pack_keys(apps, schema_editor):
    StickerPack = apps.get_model("catalog", "StickerPack")
    for pack in StickerPack.objects.only("id", "pack_key").iterator(chunk_size=1000):
        lower = pack.pack_key.lower()
        # A key that differs from another only in case keeps its spelling (SQLite only: MariaDB's
        # collation never let both exist); lookups lower-case, so only the lower one is reachable.
        if lower != pack.pack_key and not StickerPack.objects.filter(pack_key=lower).exclude(pk=pack.pk).exists():
            StickerPack.objects.filter(pk=pack.pk).update(pack_key=lower)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_snapshot_sort_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CreatorProfile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("display_name", models.CharField(blank=True, default="", max_length=120)),
                ("is_verified", models.BooleanField(default=False)),
                ("verified_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.CreateModel(
            name="PackModerationChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("pack_key", models.CharField(db_index=True, max_length=160)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("mark_sensitive", "mark sensitive"),
                            ("unmark_sensitive", "clear the staff sensitive mark"),
                            ("unpublish", "unpublish and hold publishing"),
                            ("lift_hold", "lift the publishing hold"),
                            ("soft_delete", "soft delete"),
                            ("restore", "restore"),
                            ("edit", "edit in the admin"),
                        ],
                        max_length=32,
                    ),
                ),
                ("reason", models.CharField(blank=True, default="", max_length=500)),
                ("changed_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("source", models.CharField(default="service", max_length=32)),
                ("before", models.JSONField(blank=True, null=True)),
                ("after", models.JSONField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-changed_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="ReservedPublisherName",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=120)),
                ("name_key", models.CharField(max_length=120, unique=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name="stickerpack",
            name="first_listed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="stickerpack",
            name="moderated_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="stickerpack",
            name="moderation_hold",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="stickerpack",
            name="moderation_reason",
            field=models.CharField(blank=True, default="", max_length=500),
        ),
        migrations.AddField(
            model_name="stickerpack",
            name="moderation_sensitive",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="stickerasset",
            name="sha256",
            field=models.CharField(db_index=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="stickerasset",
            name="storage_key",
            field=models.CharField(db_index=True, max_length=255),
        ),
        migrations.RunPython(split_shared_assets, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="stickerasset",
            constraint=models.UniqueConstraint(fields=("owner", "sha256"), name="asset_owner_sha256_unique"),
        ),
        migrations.AddField(
            model_name="creatorprofile",
            name="user",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE, related_name="creator_profile", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="creatorprofile",
            name="verified_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="packmoderationchange",
            name="changed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="packmoderationchange",
            name="pack",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="moderation_changes",
                to="catalog.stickerpack",
            ),
        ),
        migrations.AddField(
            model_name="reservedpublishername",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="reservedpublishername",
            name="holder",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="reserved_names", to="catalog.creatorprofile"
            ),
        ),
        migrations.RunPython(backfill_first_listed_at, migrations.RunPython.noop),
        migrations.RunPython(auto_packs_to_the_system_account, migrations.RunPython.noop),
        migrations.RunPython(lower_case_pack_keys, migrations.RunPython.noop),
    ]
