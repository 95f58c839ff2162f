"""Creators (SPEC §3): owners of listed packs ranked by creator score, each with their best listed,
safe pack. A creator is a user (the packs' owner), never the free-text publisher of a pack; the
ranking is cached briefly like the other aggregates (catalog.selectors.stats.cached)."""

import math

from django.db.models import Avg, Count, Sum

from catalog.models import PackScoreSnapshot
from catalog.selectors.packs import pack_listed_queryset, snapshot_card, snapshot_list_queryset
from catalog.selectors.stats import cached
from catalog.services.creators import creator_display_name, creator_is_verified, creator_users

PROLIFIC_PACKS = 5
LOVED_LIKES = 100


def creator_score(*, avg_pack_score: float, packs_count: int, total_likes: int, total_opens: int) -> float:
    """Mean pack quality, plus diminishing credit for volume and audience."""
    return round(
        avg_pack_score
        + 0.05 * math.log1p(packs_count)
        + 0.03 * math.log1p(total_likes)
        + 0.01 * math.log1p(total_opens),
        6,
    )


def creators(*, limit: int = 20) -> list[dict]:
    """Owners of listed packs ranked by creator score: display name, staff-given verified badge and
    stats over their own packs (`owner_id` is for creators_top_snapshots, not for the response)."""

    def compute():
        rows = (
            pack_listed_queryset()
            .filter(owner__isnull=False)
            .values("owner")
            .annotate(
                packs_count=Count("id"),
                total_likes=Sum("engagement__like_count"),
                total_opens=Sum("engagement__open_count"),
                avg_pack_score=Avg("snapshot__pack_score"),
            )
            .order_by()
        )
        rows = list(rows)
        users = creator_users([row["owner"] for row in rows])
        ranked = []
        for row in rows:
            user = users[row["owner"]]
            stats = {
                "packs_count": row["packs_count"],
                "total_likes": row["total_likes"] or 0,
                "total_opens": row["total_opens"] or 0,
                "avg_pack_score": round(row["avg_pack_score"] or 0.0, 6),
            }
            badges = []
            if stats["packs_count"] >= PROLIFIC_PACKS:
                badges.append("prolific")
            if stats["total_likes"] >= LOVED_LIKES:
                badges.append("loved")
            verified = creator_is_verified(user)
            if verified:
                badges.append("verified")
            ranked.append(
                {
                    "owner_id": user.pk,
                    "publisher": creator_display_name(user),
                    "verified": verified,
                    "badges": badges,
                    "creator_score": creator_score(
                        avg_pack_score=stats["avg_pack_score"],
                        packs_count=stats["packs_count"],
                        total_likes=stats["total_likes"],
                        total_opens=stats["total_opens"],
                    ),
                    "stats": stats,
                }
            )
        ranked.sort(key=lambda c: (-c["creator_score"], c["publisher"], c["owner_id"]))
        return ranked[:100]

    return cached("creators", compute)[:limit]


def creators_top_snapshots(owner_ids: list[int]) -> dict[int, PackScoreSnapshot]:
    """Each owner's best listed, safe pack by ranking (one query per creators page)."""
    best: dict[int, PackScoreSnapshot] = {}
    if not owner_ids:
        return best
    rows = (
        snapshot_list_queryset(safe_only=True)
        .filter(pack__owner_id__in=owner_ids)
        .select_related("pack", "pack__engagement")
        .order_by("-ranking_score", "-pack_id")
    )
    for snap in rows.iterator(chunk_size=500):
        best.setdefault(snap.pack.owner_id, snap)
        if len(best) == len(owner_ids):
            break
    return best


def creators_page(*, limit: int) -> list[dict]:
    """The top `limit` creators, each with `top_pack`: the PackCard of their best listed, safe pack
    (or None)."""
    ranked = creators(limit=limit)
    top = creators_top_snapshots([creator["owner_id"] for creator in ranked])
    page = []
    for creator in ranked:
        snapshot = top.get(creator["owner_id"])
        public = {field: value for field, value in creator.items() if field != "owner_id"}
        page.append({**public, "top_pack": snapshot_card(snapshot) if snapshot else None})
    return page
