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

// Reference images: a preview of each chosen file with a button that removes it from the choice.
(function () {
  "use strict";
  var input = document.getElementById("references");
  var list = document.getElementById("reference-previews");
  if (!input || !list || typeof DataTransfer === "undefined") { return; }
  var urls = [];
  var render = function () {
    urls.forEach(function (url) { URL.revokeObjectURL(url); });
    urls = [];
    list.textContent = "";
    Array.prototype.forEach.call(input.files, function (file, index) {
      var item = document.createElement("li");
      var image = document.createElement("img");
      var url = URL.createObjectURL(file);
      urls.push(url);
      image.src = url;
      image.alt = "Reference: " + file.name;
      image.width = 96;
      image.height = 96;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link-button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove " + file.name);
      remove.addEventListener("click", function () {
        var kept = new DataTransfer();
        Array.prototype.forEach.call(input.files, function (other, otherIndex) {
          if (otherIndex !== index) { kept.items.add(other); }
        });
        input.files = kept.files;
        render();
        input.focus();
      });
      item.appendChild(image);
      item.appendChild(remove);
      list.appendChild(item);
    });
  };
  input.addEventListener("change", render);
})();
