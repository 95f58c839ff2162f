"""Demo catalog for newcomers: real generated sticker images (Pillow), varied packs."""

import io
import math
import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageDraw

from catalog.models import CreatorProfile, PackEngagement, StickerPack, StickerPackItem
from catalog.services.assets import asset_get_or_create, sticker_fields
from catalog.services.images import convert_upload
from catalog.services.snapshots import snapshot_sweep

THEMES = [
    ("Happy Cats", "cats", ["cats", "cute", "animals"], "😺"),
    ("Morning Coffee", "coffee", ["coffee", "morning"], "☕"),
    ("Retro Shapes", "shapes", ["retro", "geometry"], "🔷"),
    ("Party Time", "party", ["party", "celebration"], "🎉"),
    ("Rainy Days", "weather", ["weather", "mood"], "🌧"),
    ("Space Doodles", "space", ["space", "stars"], "🚀"),
    ("Office Life", "work", ["work", "memes"], "💼"),
    ("Garden Friends", "garden", ["plants", "nature"], "🌱"),
    ("Pixel Hearts", "love", ["love", "pixel"], "❤"),
    ("Beach Mood", "beach", ["summer", "beach"], "🏖"),
    ("Late Night", "night", ["night", "moon"], "🌙"),
    ("Spicy Memes", "spicy", ["memes", "adult"], "🌶"),
]
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password-123"
# A superuser for the admin, created only in DEBUG (embedded `make run`), never in production.
DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "admin-password-123"
PUBLISHERS = ["Ana Lima", "Studio Kite", "Bruno", "Packyard Team", "Mika"]


def _demo_creators(owner) -> list:
    """One creator (user) per demo publisher: `demo` publishes as the first, the others are demo
    accounts with no usable password (creators are owners: /creators groups by them)."""
    User = get_user_model()
    users = [owner]
    for name in PUBLISHERS[1:]:
        username = f"demo-{slugify(name)}"
        user, created = User.objects.get_or_create(username=username, defaults={"email": ""})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    for user, name in zip(users, PUBLISHERS, strict=True):
        CreatorProfile.objects.get_or_create(user=user, defaults={"display_name": name})
    return users


def _sticker_png(seed: int) -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    color = tuple(rng.randrange(40, 255) for _ in range(3)) + (255,)
    accent = tuple(rng.randrange(0, 200) for _ in range(3)) + (255,)
    shape = seed % 3
    if shape == 0:
        draw.ellipse((40, 40, 472, 472), fill=color, outline=accent, width=14)
    elif shape == 1:
        draw.rounded_rectangle((60, 60, 452, 452), radius=60, fill=color, outline=accent, width=14)
    else:
        pts = [(256 + 210 * math.cos(a * math.pi / 5), 256 + 210 * math.sin(a * math.pi / 5)) for a in range(10)]
        pts = [p if i % 2 == 0 else (256 + (p[0] - 256) * 0.45, 256 + (p[1] - 256) * 0.45) for i, p in enumerate(pts)]
        draw.polygon(pts, fill=color, outline=accent)
    draw.ellipse((180, 190, 220, 240), fill=accent)
    draw.ellipse((292, 190, 332, 240), fill=accent)
    draw.arc((170, 230, 342, 360), 20, 160, fill=accent, width=12)
    out = io.BytesIO()
    img.save(out, format="WEBP", quality=80)
    return out.getvalue()


@transaction.atomic
def demo_catalog_seed(*, packs: int = 12) -> int:
    """Create up to `packs` demo packs; packs that exist (by key) are left as they are."""
    User = get_user_model()
    owner, _ = User.objects.get_or_create(username=DEMO_USERNAME, defaults={"email": "demo@example.com"})
    # get_or_create leaves password "" (which Django counts as usable): set it whenever it is
    # empty or unusable, so the README's login works; a password changed since is kept.
    if not owner.password or not owner.has_usable_password():
        owner.set_password(DEMO_PASSWORD)
        owner.save(update_fields=["password"])
    if settings.DEBUG and not User.objects.filter(username=DEMO_ADMIN_USERNAME).exists():
        User.objects.create_superuser(username=DEMO_ADMIN_USERNAME, email="", password=DEMO_ADMIN_PASSWORD)
    creators = _demo_creators(owner)
    created = 0
    now = timezone.now()
    for index in range(packs):
        name, theme, tags, emoji = THEMES[index % len(THEMES)]
        if index >= len(THEMES):
            name = f"{name} {index // len(THEMES) + 1}"
        pack_key = f"demo-{theme}-{index + 1}"
        if StickerPack.objects.filter(pack_key=pack_key).exists():
            continue
        sensitive = theme == "spicy"
        visibility = StickerPack.Visibility.UNLISTED if index % 7 == 6 else StickerPack.Visibility.PUBLIC
        creator = creators[index % len(creators)]
        pack = StickerPack.objects.create(
            pack_key=pack_key,
            owner=creator,
            name=name,
            publisher=PUBLISHERS[index % len(PUBLISHERS)],
            description=f"{name}: a demo pack of generated stickers.",
            tags=tags,
            visibility=visibility,
            status=StickerPack.Status.PUBLISHED,
            pack_status=StickerPack.PackStatus.READY,
            is_sensitive=sensitive,
            published_at=now,
            created_at=now,
            updated_at=now,
            content_updated_at=now,
        )
        count = 6 + (index * 5) % 25
        for position in range(1, count + 1):
            sticker = convert_upload(_sticker_png(index * 100 + position))
            asset, _ = asset_get_or_create(data=sticker.data, owner=creator, **sticker_fields(sticker))
            StickerPackItem.objects.create(
                pack=pack, asset=asset, position=position, emojis=[emoji], accessibility_label=f"{name} #{position}"
            )
            if position == 1:
                pack.cover = asset
                pack.save(update_fields=["cover"])
        rng = random.Random(index)
        PackEngagement.objects.create(
            pack=pack,
            open_count=rng.randrange(10, 900),
            like_count=rng.randrange(0, 200),
            dislike_count=rng.randrange(0, 20),
            download_count=rng.randrange(0, 300),
        )
        created += 1
    # Lists read ranking snapshots: give the demo packs theirs now rather than at the first sweep.
    snapshot_sweep()
    return created
