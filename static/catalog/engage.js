// The pages' calls to the engagement API (SPEC §3), all in this one module: a POST with no
// body and no CSRF token; same-origin credentials, so a logged-in viewer counts as themself.
export async function engage(apiUrl, interaction) {
  const response = await fetch(`${apiUrl}/${interaction}?source=web`, {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: the status below says enough
  }
  if (!response.ok) {
    throw new Error(body.error || `The server answered ${response.status}.`);
  }
  return body.data; // {pack_key, interaction, recorded, engagement: {like_count, ...}}
}
