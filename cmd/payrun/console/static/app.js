// payrun console: the only script. It follows a running run's progress by
// polling its JSON and reloads the page when the run ends, to show results,
// and reloads the runs page while run totals are being counted.
// Every page works without it (the run page says to reload).
(function () {
  "use strict";
  // The runs page while finished runs' totals are still being counted:
  // look again in a few seconds.
  if (document.getElementById("counting")) {
    setTimeout(function () { window.location.reload(); }, 3000);
  }
  var box = document.getElementById("progress");
  if (!box) return;
  var url = box.getAttribute("data-url");
  function text(id, v) {
    var el = document.getElementById(id);
    if (el) el.textContent = v;
  }
  function draw(p) {
    text("done", p.done);
    text("total", p.total);
    text("rate", p.rate || "");
    text("eta", p.eta || "–");
    text("elapsed", p.elapsed || "");
    var bar = document.getElementById("bar");
    if (bar) { bar.value = p.percent; bar.textContent = p.percent + "%"; }
    var body = document.querySelector("#states tbody");
    if (body) {
      body.textContent = "";
      (p.states || []).forEach(function (s) {
        var tr = document.createElement("tr");
        var td1 = document.createElement("td");
        var badge = document.createElement("span");
        badge.className = "badge " + s["class"];
        badge.textContent = s.state;
        td1.appendChild(badge);
        var td2 = document.createElement("td");
        td2.className = "num";
        td2.textContent = s.n;
        tr.appendChild(td1);
        tr.appendChild(td2);
        body.appendChild(tr);
      });
    }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("progress " + r.status);
        return r.json();
      })
      .then(function (p) {
        draw(p);
        if (p.running) {
          setTimeout(poll, 1000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
