import hashlib

import factory
from django.contrib.auth import get_user_model

from catalog.models import StickerAsset, StickerPack, StickerPackItem


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-123456789")


class StickerAssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StickerAsset

    sha256 = factory.Sequence(lambda n: hashlib.sha256(f"asset-{n}".encode()).hexdigest())
    storage_key = factory.LazyAttribute(lambda o: f"stickers/{o.sha256[:2]}/{o.sha256}.webp")
    owner = factory.SubFactory(UserFactory)
    mimetype = "image/webp"
    width = 512
    height = 512
    size_bytes = 20_000


class StickerPackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StickerPack

    pack_key = factory.Sequence(lambda n: f"pack-{n}")
    name = factory.Sequence(lambda n: f"Pack {n}")
    publisher = "Tester"
    owner = factory.SubFactory(UserFactory)
    visibility = StickerPack.Visibility.PUBLIC
    status = StickerPack.Status.PUBLISHED
    pack_status = StickerPack.PackStatus.READY


class StickerPackItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StickerPackItem

    pack = factory.SubFactory(StickerPackFactory)
    asset = factory.SubFactory(StickerAssetFactory)
    position = factory.Sequence(lambda n: n % 30 + 1)
