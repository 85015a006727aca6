// Studio: a live character count for the prompt, the price of the request, and the size, count
// and style options of the model picked (the server re-renders them when there is no script).
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
  var showPrice = function () {
    if (!count || !price) { return; }
    var perImage = parseInt(count.getAttribute("data-price"), 10);
    var total = perImage * parseInt(count.value, 10);
    var available = parseInt(price.getAttribute("data-available"), 10);
    var after = isNaN(available) ? "" : total <= available
      ? "; your balance will be " + (available - total) + " of " + available
      : "; you have " + available + ", not enough: buy credits first";
    price.textContent = "This request costs " + total + " credit" + (total === 1 ? "" : "s") + after +
      ". A failed or blocked request costs nothing.";
  };
  if (count && price) {
    count.addEventListener("change", showPrice);
    showPrice();
  }

  // Replaces a select's options, keeping the chosen value when the new list has it.
  var fill = function (select, options) {
    if (!select) { return; }
    var current = select.value;
    var keep = options.some(function (option) { return option.value === current; });
    select.textContent = "";
    options.forEach(function (option) {
      var element = document.createElement("option");
      element.value = option.value;
      element.textContent = option.label;
      element.selected = keep ? option.value === current : option.selected;
      select.appendChild(element);
    });
  };
  var model = document.getElementById("model");
  var models = {};
  try { models = JSON.parse(model ? model.getAttribute("data-models") || "{}" : "{}"); } catch (e) { models = {}; }
  if (model) {
    model.addEventListener("change", function () {
      var chosen = models[model.value];
      if (!chosen) { return; }
      fill(document.getElementById("size"), chosen.sizes);
      var counts = [];
      for (var n = 1; n <= chosen.counts; n++) { counts.push({ value: String(n), label: String(n), selected: n === 1 }); }
      fill(count, counts);
      fill(document.getElementById("style"), chosen.styles);
      if (count) { count.setAttribute("data-price", String(chosen.price)); }
      showPrice();
    });
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
