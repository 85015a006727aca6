// The age screen compares the date of birth with today's date where the person is (the date
// they typed is in their calendar too). Without this script the server uses the earliest date
// it is anywhere on Earth, which is never more lenient.
(function () {
  var field = document.getElementById("today");
  if (!field) return;
  var now = new Date();
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  field.value = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
})();
