// Pack page: count the open, and send like / dislike / download to the engagement API
// without leaving the page, showing the counts the server answers. Without JS the same
// buttons are forms that post to the page and come back.
import { engage } from "./engage.js";

const DONE = {
  like: ["Liked", "You already liked this pack"],
  dislike: ["Disliked", "You already disliked this pack"],
  download: ["Download started", "Download started"],
};

const pack = document.querySelector("[data-pack]");
if (pack) {
  const apiUrl = pack.dataset.apiUrl;
  const status = pack.querySelector("[data-engage-status]");
  const showCounts = (engagement) => {
    for (const element of pack.querySelectorAll("[data-count]")) {
      const value = engagement[element.dataset.count];
      if (value !== undefined) element.textContent = String(value);
    }
  };

  engage(apiUrl, "open").then((data) => showCounts(data.engagement), () => {});

  for (const form of pack.querySelectorAll("form[data-engage]")) {
    let busy = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      const interaction = form.dataset.engage;
      form.querySelector("button").setAttribute("aria-busy", "true");
      try {
        const data = await engage(apiUrl, interaction);
        showCounts(data.engagement);
        const [recorded, repeated] = DONE[interaction];
        status.textContent = `${data.recorded ? recorded : repeated}.`;
        if (form.dataset.downloadUrl) window.location.assign(form.dataset.downloadUrl);
      } catch (error) {
        status.textContent = `Not counted: ${error.message}`;
      } finally {
        form.querySelector("button").removeAttribute("aria-busy");
        busy = false;
      }
    });
  }
}
