/*
 * Coop — progressive enhancement only. Every page and form works with JavaScript off; this file
 * may only make things nicer. It lives here (not inline) because the CSP forbids inline scripts.
 */
(function () {
  "use strict";

  // Lets the CSS reveal JS-only affordances (.coop-js-only) and hide their no-JS fallbacks.
  document.documentElement.classList.add("js");

  // Commune picker: suggest "Nom (code postal)" labels from /api/communes as the user types.
  // Without JS the form still works: the server resolves what was typed and offers choices.
  function debounce(fn, ms) {
    var timer;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function label(commune) {
    return commune.nom + " (" + (commune.codes_postaux[0] || commune.insee) + ")";
  }

  function enhancePicker(picker) {
    var input = picker.querySelector("input.fr-input");
    var list = picker.querySelector("datalist");
    if (!input || !list || !window.fetch) { return; }
    var hidden = picker.querySelector('input[type="hidden"]');
    var last = "";
    input.addEventListener("input", debounce(function () {
      var q = input.value.trim();
      if (hidden && q !== last) { hidden.remove(); hidden = null; }
      if (q.length < 2 || q === last) { return; }
      last = q;
      fetch("/api/communes?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (communes) {
          list.textContent = "";
          communes.forEach(function (commune) {
            var option = document.createElement("option");
            option.value = label(commune);
            list.appendChild(option);
          });
        })
        .catch(function () { /* offline: the server-side picker still works */ });
    }, 200));
  }

  document.querySelectorAll("[data-commune-picker]").forEach(enhancePicker);
})();
