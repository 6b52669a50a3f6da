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

  // Shareable export links: a "Copier le lien" button next to the read-only field. Without JS
  // (or without the clipboard API, e.g. on plain http) the field stays selectable by hand.
  function enhanceCopy(input) {
    if (!navigator.clipboard || !window.isSecureContext) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "fr-btn fr-btn--secondary fr-btn--sm fr-mt-1w";
    button.textContent = "Copier le lien";
    var status = document.createElement("p");
    status.className = "fr-hint-text";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(
        function () { status.textContent = "Lien copié."; },
        function () { input.select(); status.textContent = "Copie impossible : sélectionnez le lien."; }
      );
    });
    input.insertAdjacentElement("afterend", status);
    input.insertAdjacentElement("afterend", button);
  }

  document.querySelectorAll("input[data-copier]").forEach(enhanceCopy);

  // « Imprimer / PDF »: print the page itself (the print stylesheet leaves out the menu, the
  // filters and the buttons). Without JS, the link opens the print view (`?imprimer=1`).
  document.querySelectorAll("[data-imprimer]").forEach(function (control) {
    control.addEventListener("click", function (event) {
      if (typeof window.print !== "function") { return; }
      event.preventDefault();
      window.print();
    });
  });

  // Mes exports while a file is being prepared: fetch the page again every few seconds and swap
  // the cards whose status changed, announcing them in the status line. No page reload (the
  // focus and the reading position stay); without JS the page offers an "Actualiser" link.
  function statusOf(card) {
    var badge = card.querySelector("[data-statut]");
    return badge ? badge.getAttribute("data-statut") : "";
  }

  function watchExports(box) {
    var seconds = parseInt(box.getAttribute("data-rafraichir"), 10) || 3;
    var status = box.querySelector("[role=status]");
    var fallback = box.querySelector(".coop-no-js-only");
    if (!window.fetch || !window.DOMParser || !status) { return; }
    function swap(fresh) {
      var changed = [];
      document.querySelectorAll(".coop-export[id]").forEach(function (card) {
        var next = fresh.getElementById(card.id);
        if (!next || statusOf(next) === statusOf(card)) { return; }
        var imported = document.importNode(next, true);
        card.replaceWith(imported);
        imported.querySelectorAll("input[data-copier]").forEach(enhanceCopy);
        var title = imported.querySelector(".fr-card__title");
        var badge = imported.querySelector("[data-statut]");
        changed.push((title ? title.textContent.trim() : "Export") + " : " + (badge ? badge.textContent.trim() : ""));
      });
      if (changed.length) { status.textContent = changed.join(". ") + "."; }
    }
    // Nothing is being prepared anymore: the « en préparation » confirmation and the
    // "Actualiser" link are over (a reload of this address would not show them either).
    function done() {
      if (fallback) { fallback.remove(); }
      document.querySelectorAll(".coop-flash").forEach(function (flash) { flash.remove(); });
      if (window.history && window.history.replaceState && window.location.search) {
        window.history.replaceState(null, "", window.location.pathname + window.location.hash);
      }
    }
    function poll() {
      fetch(window.location.pathname, { headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          swap(fresh);
          if (fresh.querySelector("[data-rafraichir]")) {
            setTimeout(poll, seconds * 1000);
          } else {
            done();
          }
        })
        .catch(function () { setTimeout(poll, seconds * 3000); });  // offline: try again later
    }
    setTimeout(poll, seconds * 1000);
  }

  document.querySelectorAll("[data-rafraichir]").forEach(watchExports);

  // « Rechercher un bénéficiaire » in the activity forms. Without JS, Enter in a text field
  // presses the form's hidden first button, which the server reads as a search when the search
  // field holds text, as a save otherwise. With JS, Enter in the search field presses
  // « Rechercher » itself (even when empty: it must never save), so Enter anywhere else saves.
  function enhanceSearch(input) {
    var form = input.form;
    var search = form && form.querySelector("button[data-rechercher]");
    if (!search) { return; }
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.isComposing) { return; }
      event.preventDefault();
      search.click();
    });
    form.querySelectorAll("button[data-entree-implicite]").forEach(function (button) {
      button.value = "enregistrer";
    });
  }

  document.querySelectorAll('input[name="recherche_beneficiaire"]').forEach(enhanceSearch);

  // After a search the server focuses the results' heading with `autofocus`; browsers that
  // skip it (it only runs once per document) get it here.
  var resultats = document.getElementById("resultats-titre");
  if (resultats && (!document.activeElement || document.activeElement === document.body)) {
    resultats.focus();
  }
})();
