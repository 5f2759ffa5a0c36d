// The PIK login form (issue 6): a foreigner without an EGN types the birth date as
// YYMMDD0000; the customer-number field then appears (and becomes required) without
// a page reload. The server checks the same rule, so the form works without script.
(function () {
  "use strict";

  function validBirthDate(digits) {
    var yy = parseInt(digits.slice(0, 2), 10);
    var mm = parseInt(digits.slice(2, 4), 10);
    var dd = parseInt(digits.slice(4, 6), 10);
    return [1900, 2000].some(function (century) {
      var date = new Date(Date.UTC(century + yy, mm - 1, dd));
      return date.getUTCMonth() === mm - 1 && date.getUTCDate() === dd;
    });
  }

  function looksForeign(value) {
    var digits = value.replace(/[\s.-]/g, "");
    return /^\d{6}0000$/.test(digits) && validBirthDate(digits);
  }

  function init() {
    var identifier = document.getElementById("pik-identifier");
    var row = document.getElementById("pik-number-row");
    var number = document.getElementById("pik-customer-number");
    if (!identifier || !row || !number) {
      return;
    }
    function update() {
      var show = looksForeign(identifier.value);
      row.hidden = !show;
      number.required = show;
      if (!show) {
        number.value = "";
      }
    }
    identifier.addEventListener("input", update);
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
