"""The web pages in a real browser (SPEC §3 web pages): a visitor browses, searches, sorts,
scrolls to the second page, opens a pack and likes it; an owner logs in, creates a pack,
uploads stickers (one refused, with the API's message), reorders, publishes and finds the pack
listed once a real worker has refreshed its snapshot; without JS the pages still list packs
and show a pack.

One browser for these tests; each flow opens its own context (own cookies).
"""

import base64
import re

import pytest
from playwright.sync_api import expect

from catalog.models import PackEngagement, StickerPack
from catalog.services.images import ImageRejected, convert_upload
from tests.catalog.conftest import make_pack, png_bytes
from tests.e2e.conftest import DESKTOP, PHONE
from tests.workers import procs

pytestmark = pytest.mark.django_db(transaction=True)

PAGE_SIZE = 24  # the API's default page, which the browse page uses


def catalog() -> dict:
    """32 listed safe packs (26 about cats, 6 about dogs, one dog pack far ahead in likes) and
    one pack with a sensitive sticker, reachable by its key but listed for nobody anonymous."""
    packs = {}
    for n in range(1, 27):
        packs[f"cat{n}"] = make_pack(items=1, name=f"Cat Pack {n:02d}", tags=["cats"])
    for n in range(1, 7):
        likes = 500 if n == 3 else n
        items = 6 if n == 1 else 1
        packs[f"dog{n}"] = make_pack(
            items=items, name=f"Dog Pack {n}", tags=["dogs"], engagement={"like_count": likes, "open_count": 10}
        )
    packs["spicy"] = make_pack(items=3, nsfw_items=1, name="Spicy Things", tags=["cats"])
    return packs


def refused_message(data: bytes) -> str:
    """What the upload service answers for these bytes (the page must show the same words)."""
    with pytest.raises(ImageRejected) as refused:
        convert_upload(data)
    return refused.value.message


def wait_for_all_images(page, selector: str) -> None:
    """Scroll every image into view (lazy loading) and wait until each has decoded pixels."""
    for image in page.locator(selector).all():
        image.scroll_into_view_if_needed()
    page.wait_for_function(
        "sel => [...document.querySelectorAll(sel)].every(img => img.complete && img.naturalWidth > 0)",
        arg=selector,
    )


def tab_to(page, name: str, limit: int = 60) -> None:
    """Press Tab until the focused element's accessible text starts with `name`; it must show a
    visible focus outline."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => ({text: document.activeElement.innerText || '', outline: getComputedStyle(document.activeElement).outlineStyle})"
        )
        if focused["text"].strip().startswith(name):
            assert focused["outline"] not in ("", "none"), f"{name}: no visible focus"
            return
    raise AssertionError(f"Tab never reached {name!r}")


def card_titles(page) -> list[str]:
    return page.locator(".card-title").all_inner_texts()


def test_visitor_browses_searches_sorts_scrolls_and_likes(browsing):
    packs = catalog()
    visitor = browsing("visitor")
    page = visitor.page

    # At phone width the "more" link starts far below the fold: only scrolling loads page two.
    page.set_viewport_size(PHONE)
    page.goto("/")
    expect(page.locator(".card")).to_have_count(PAGE_SIZE)
    expect(page.locator("[data-more]")).to_have_count(1)

    # More results as you scroll: the "more" link's cursor is followed in the background.
    page.locator("[data-more]").scroll_into_view_if_needed()
    expect(page.locator(".card")).to_have_count(32)
    expect(page.locator("[data-more]")).to_have_count(0)
    expect(page.locator("[data-results-status]")).to_have_text("8 more packs loaded.")
    page.set_viewport_size(DESKTOP)
    visitor.check("browse")
    assert "Spicy Things" not in card_titles(page)  # anonymous visitors see safe packs only
    assert len(set(card_titles(page))) == 32

    page.locator("#q").fill("dog")
    page.locator("#q").press("Enter")
    expect(page).to_have_url(re.compile(r"q=dog"))
    expect(page.locator(".card")).to_have_count(6)
    assert all(title.startswith("Dog Pack") for title in card_titles(page))

    page.get_by_role("link", name="Most liked").click()
    expect(page.get_by_role("link", name="Most liked")).to_have_attribute("aria-current", "page")
    expect(page.locator(".card")).to_have_count(6)  # the search is kept
    assert card_titles(page)[0] == "Dog Pack 3"
    visitor.check("search-sorted")

    page.goto("/")
    page.locator(".chips").get_by_role("link", name="dogs").click()
    expect(page.locator(".card")).to_have_count(6)

    page.get_by_role("link", name="Dog Pack 1").click()
    expect(page).to_have_url(re.compile(f"/stickers/{packs['dog1'].pack_key}$"))
    expect(page.locator(".sticker-grid img")).to_have_count(6)
    wait_for_all_images(page, ".sticker-grid img")
    visitor.check("pack")

    likes = page.locator("[data-count=like_count]")
    expect(likes).to_have_text("1")
    tab_to(page, "Like")  # by keyboard, with a visible focus ring
    page.keyboard.press("Enter")
    expect(likes).to_have_text("2")  # the count the server answered
    expect(page.locator("[data-engage-status]")).to_have_text("Liked.")
    assert PackEngagement.objects.get(pack=packs["dog1"]).like_count == 2
    page.reload()
    expect(likes).to_have_text("2")

    # A sensitive sticker: blurred with a notice, and its bytes never requested.
    spicy = packs["spicy"]
    hidden = spicy.items.get(position=1).asset_id
    page.goto(f"/stickers/{spicy.pack_key}")
    expect(page.locator(".sticker-hidden")).to_have_count(1)
    expect(page.locator(".notice")).to_contain_text("1 sensitive sticker is hidden")
    wait_for_all_images(page, ".sticker-grid img")
    assert not [url for url in visitor.requests if re.search(rf"/stickers/{hidden}(\.webp)?$", url)]
    visitor.check("pack-sensitive")


def test_owner_logs_in_creates_uploads_reorders_and_publishes(browsing, user, tmp_path, settings):
    owner = browsing("owner")
    page = owner.page

    page.goto("/my/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/my/$"))
    owner.check("login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password-123")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/my/$"))
    expect(page.locator(".empty")).to_contain_text("no packs yet")

    page.get_by_role("main").get_by_role("link", name="New pack").click()
    owner.check("new-pack")
    page.get_by_label("Name").fill("Weekend Birds")
    page.get_by_label("Tags").fill("birds, weekend")
    page.get_by_role("button", name="Create pack").click()
    expect(page).to_have_url(re.compile(r"/stickers/weekend-birds-[0-9a-f]+/edit$"))
    pack = StickerPack.objects.get(name="Weekend Birds")
    assert pack.owner == user and pack.status == StickerPack.Status.DRAFT

    # Three files by the file picker; the third is not an image and is refused by the API.
    not_an_image = b"these are notes, not a picture"
    files = [
        {"name": "robin.png", "mimeType": "image/png", "buffer": png_bytes(color=(200, 40, 40, 255))},
        {"name": "wren.png", "mimeType": "image/png", "buffer": png_bytes(color=(40, 160, 60, 255), size=(256, 256))},
        {"name": "notes.png", "mimeType": "image/png", "buffer": not_an_image},
    ]
    owner.expect_console("the server responded with a status of 415")
    page.locator("#id_file").set_input_files(files)
    page.get_by_role("button", name="Upload").click()
    rows = page.locator("[data-upload-status] li")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_class(re.compile("done"))
    expect(rows.nth(1)).to_have_class(re.compile("done"))
    expect(rows.nth(2)).to_have_class(re.compile("error"))
    expect(rows.nth(2).locator(".state")).to_have_text(refused_message(not_an_image))
    expect(page.locator(".editor-item")).to_have_count(2)

    # A fourth by drag and drop.
    page.evaluate(
        """([name, data]) => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: 'image/png'}));
            document.querySelector('[data-dropzone]').dispatchEvent(
                new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        ["jay.png", base64.b64encode(png_bytes(color=(30, 60, 220, 255), size=(400, 300))).decode()],
    )
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_have_class(re.compile("done"))
    expect(page.locator(".editor-item")).to_have_count(3)
    wait_for_all_images(page, ".editor-item img")

    first, second, third = page.locator(".editor-item").evaluate_all("items => items.map(i => i.dataset.sticker)")
    page.get_by_role("button", name="Move down sticker 1").click()
    expect(page.locator(".editor-item").first).to_have_attribute("data-sticker", second)
    expect(page.locator(".editor-item").nth(1)).to_have_attribute("data-sticker", first)
    assert page.evaluate("() => document.activeElement.dataset.focus") == f"down-{first}"
    page.get_by_role("button", name="Remove sticker 3").click()
    expect(page.locator(".editor-item")).to_have_count(2)
    assert [str(a) for a in pack.items.order_by("position").values_list("asset_id", flat=True)] == [second, first]
    owner.check("edit")

    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".message.success")).to_contain_text("Published")
    pack.refresh_from_db()
    assert pack.status == StickerPack.Status.PUBLISHED

    # Listed once its snapshot exists: the publication's event queues the refresh (a real outbox
    # consumer), a real worker runs it.
    page.goto("/?q=weekend")
    expect(page.locator(".card")).to_have_count(0)
    consumer = procs.start(
        "run_outbox_consumer", "--once", log_dir=tmp_path, name="e2e-consumer", env=procs.worker_env()
    )
    assert consumer.wait(timeout=120) == 0, procs.logs(tmp_path)
    worker = procs.start(
        "run_worker", "--task-type", "all", "--once", log_dir=tmp_path, name="e2e-worker", env=procs.worker_env()
    )
    assert worker.wait(timeout=120) == 0, procs.logs(tmp_path)
    page.reload()
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card-title")).to_have_text("Weekend Birds")
    owner.check("browse-published")

    page.goto("/my/")
    expect(page.locator(".owner-pack .badge.published")).to_have_text("Published")
    owner.check("my-packs")


def test_pages_work_without_javascript(browsing):
    packs = catalog()
    reader = browsing("no-js", javascript=False)
    page = reader.page

    page.goto("/")
    expect(page.locator(".card")).to_have_count(PAGE_SIZE)
    reader.check("browse")
    page.get_by_role("link", name="More packs").click()
    expect(page).to_have_url(re.compile(r"cursor="))
    expect(page.locator(".card")).to_have_count(32 - PAGE_SIZE)
    reader.check("browse-page-2")

    page.goto(f"/stickers/{packs['dog1'].pack_key}")
    expect(page.locator(".sticker-grid img")).to_have_count(6)
    wait_for_all_images(page, ".sticker-grid img")
    likes = page.locator("[data-count=like_count]")
    expect(likes).to_have_text("1")
    page.get_by_role("button", name=re.compile("^Like")).click()  # a form post, then back to the page
    expect(likes).to_have_text("2")
    reader.check("pack")
