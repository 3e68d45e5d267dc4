// partnerdesk custom fields: a field a form condition shows (data-parent, data-value) appears while its parent
// field has that value and is hidden (and its value left out) otherwise. Without this script every field is shown,
// each conditional one with a sentence saying when it is needed.
(() => {
  "use strict";
  const wrappers = Array.from(document.querySelectorAll(".custom-field[data-parent]"));
  if (wrappers.length === 0) return;
  const valueOf = (name) => {
    const el = document.getElementById(name);
    if (!el) return null;
    if (el.type === "checkbox") return el.checked ? "true" : "false";
    return el.value;
  };
  const update = () => {
    for (const w of wrappers) {
      const shown = valueOf(w.dataset.parent) === w.dataset.value;
      w.hidden = !shown;
      for (const input of w.querySelectorAll("input, select, textarea")) input.disabled = !shown;
      const hint = w.querySelector(".hint");
      if (hint) hint.hidden = true;
    }
  };
  document.addEventListener("change", update);
  update();
})();
