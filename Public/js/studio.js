// Studio: a live character count for the prompt and the price of the request.
(function () {
  "use strict";
  var prompt = document.getElementById("prompt");
  var counter = document.getElementById("prompt-count");
  if (prompt && counter) {
    var max = parseInt(prompt.getAttribute("maxlength"), 10);
    var update = function () {
      counter.textContent = prompt.value.length + " / " + max + " characters";
    };
    prompt.addEventListener("input", update);
    update();
  }
  var count = document.getElementById("count");
  var price = document.getElementById("price");
  if (count && price) {
    var perImage = parseInt(count.getAttribute("data-price"), 10);
    var showPrice = function () {
      var total = perImage * parseInt(count.value, 10);
      price.textContent = "This request costs " + total + " credit" + (total === 1 ? "" : "s") +
        ". A failed or blocked request costs nothing.";
    };
    count.addEventListener("change", showPrice);
    showPrice();
  }
})();
