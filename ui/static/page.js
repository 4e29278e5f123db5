// Loaded on every page by ui/page_setup.py (same origin, no external code). Streamlit has no setting for the page
// language or its own English labels, so they are set here, and kept when Streamlit re-renders.
(() => {
  const LABELS = {
    "Skip to main content": "Naar de inhoud",
    "Chat message from assistant": "Antwoord van de assistent",
    "Chat message from user": "Jouw vraag",
    "App pages": "Pagina's",
    "Sidebar": "Zijbalk",
    "Collapse sidebar": "Zijbalk inklappen",
    "Expand sidebar": "Zijbalk uitklappen",
    "Send message": "Verstuur je vraag",
    "Feedback rating": "Was dit antwoord nuttig?",
    "Thumbs up": "Nuttig",
    "Thumbs down": "Niet nuttig",
    "Open": "Openen",
    "link icon": "link",
  };
  const apply = () => {
    const html = document.documentElement;
    if (html.lang !== "nl") html.lang = "nl";
    const skip = document.querySelector('[data-testid="stSkipToContent"]');
    if (skip && LABELS[skip.textContent]) skip.textContent = LABELS[skip.textContent];
    for (const el of document.querySelectorAll("[aria-label]")) {
      const dutch = LABELS[el.getAttribute("aria-label")];
      if (dutch) el.setAttribute("aria-label", dutch);
    }
  };
  apply();
  if (window.praktijkkaartPage) return;  // the observer and the click handler are installed once per tab
  window.praktijkkaartPage = true;
  let queued = false;  // one pass per frame, however many nodes a streamed answer adds
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; apply(); }); } };
  new MutationObserver(later).observe(document.documentElement,
    { subtree: true, childList: true, attributes: true, attributeFilter: ["lang", "aria-label"] });

  // A marker [n] jumps to source n of the same answer. Keyboard and screen-reader users land on the entry, and
  // the jump holds even when Streamlit scrolls the chat to its bottom after a rerun.
  document.addEventListener("click", (event) => {
    const link = event.target.closest('a[href^="#bron-"]');
    const target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    requestAnimationFrame(() => {
      target.setAttribute("tabindex", "-1");
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "center" });
    });
  });

  // Copy buttons (ui/answer_view.py): the text sits escaped in data-kopieer. navigator.clipboard needs a secure
  // context (https or localhost); on a school server over plain http the older execCommand path is used.
  const copy = async (text) => {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) throw new Error("copy failed");
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-kopieer]");
    if (!button) return;
    const status = button.parentElement.querySelector(".pk-kopieer-status");
    copy(button.dataset.kopieer).then(
      () => { if (status) status.textContent = "Gekopieerd"; },
      () => { if (status) status.textContent = "Kopiëren lukte niet: selecteer de tekst en kopieer die zelf"; });
  });
})();
