/*
 * Coop — progressive enhancement only. Every page and form works with JavaScript off; this file
 * may only make things nicer. It lives here (not inline) because the CSP forbids inline scripts.
 */
(function () {
  "use strict";

  // Lets the CSS reveal JS-only affordances (.coop-js-only) and hide their no-JS fallbacks.
  document.documentElement.classList.add("js");
})();
