// Browse: more results as you scroll. The "More packs" link carries the API's cursor; here it
// is followed in the background (its `partial` rendering holds just the cards and the next
// link) and the cards are appended. Without JS the link opens the next page.
const results = document.getElementById("results");
const status = document.querySelector("[data-results-status]");
let loading = false;

async function loadMore(link, { moveFocus = false } = {}) {
  if (loading) return;
  loading = true;
  link.setAttribute("aria-busy", "true");
  link.textContent = "Loading…";
  try {
    const url = new URL(link.href);
    url.searchParams.set("partial", "1");
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const cards = [...page.querySelectorAll("[data-cards] > li.card")];
    results.querySelector("[data-cards]").append(...cards);
    const next = page.querySelector("[data-more-wrap]");
    const current = results.querySelector("[data-more-wrap]");
    if (next) current.replaceWith(next);
    else current.remove();
    status.textContent = `${cards.length} more pack${cards.length === 1 ? "" : "s"} loaded.`;
    if (moveFocus && cards.length) cards[0].querySelector(".card-title a").focus();
    watch();
  } catch (error) {
    link.removeAttribute("aria-busy");
    link.textContent = "More packs";
    status.textContent = `Could not load more packs (${error.message}).`;
  } finally {
    loading = false;
  }
}

const observer =
  "IntersectionObserver" in window
    ? new IntersectionObserver(
        (entries) => {
          for (const entry of entries) {
            if (entry.isIntersecting) {
              observer.unobserve(entry.target);
              loadMore(entry.target);
            }
          }
        },
        { rootMargin: "300px 0px" },
      )
    : null;

function watch() {
  const link = results && results.querySelector("[data-more]");
  if (!link) return;
  link.addEventListener("click", (event) => {
    event.preventDefault();
    loadMore(link, { moveFocus: true });
  });
  if (observer) observer.observe(link);
}

watch();
