// Kith's hosted progressive-profiling form: asks what the API says to ask at this
// visit, one step at a time, checks each answer with the API as it is typed, and
// shows the API's own messages next to the fields.
(function () {
  "use strict";
  var form = document.getElementById("kith-form");
  var formID = form.dataset.form;
  var stepsEl = document.getElementById("steps");
  var consentsEl = document.getElementById("consents");
  var buttons = { back: byId("back"), next: byId("next"), submit: byId("submit") };
  var submissionID = newID(); // one per page: a retried send is recorded once
  var anonymousID = visitorID();
  // A "complete your profile" link from one of our messages carries a signed
  // token that tells the API who this is (a contact id alone never would).
  var contactToken = new URLSearchParams(location.search).get("kith_token") || "";
  var steps = [], current = 0, country = "";

  function byId(id) { return document.getElementById(id); }
  function newID() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "s" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function visitorID() {
    var m = document.cookie.match(/(?:^|; )kith_aid=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var id = newID();
    document.cookie = "kith_aid=" + encodeURIComponent(id) + "; max-age=31536000; path=/; SameSite=Lax";
    return id;
  }
  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().then(function (j) { return { status: r.status, body: j }; });
    });
  }
  function showError(field, message) {
    var el = byId("error-" + field);
    if (el) el.textContent = message || "";
    var input = byId("field-" + field);
    if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
    return !!el;
  }

  function render(next) {
    steps = next.steps || [];
    stepsEl.textContent = "";
    steps.forEach(function (step, i) {
      var section = document.createElement("section");
      section.id = "step-" + step.id;
      section.hidden = i !== 0;
      var h = document.createElement("h2");
      h.textContent = step.title;
      section.appendChild(h);
      step.fields.forEach(function (f) {
        var label = document.createElement("label");
        label.htmlFor = "field-" + f.field;
        label.textContent = f.label + (f.required ? " *" : "");
        var input = document.createElement("input");
        input.type = f.input;
        input.id = "field-" + f.field;
        input.name = f.field;
        input.autocomplete = "on";
        var err = document.createElement("span");
        err.className = "error";
        err.id = "error-" + f.field;
        err.setAttribute("aria-live", "polite");
        var note = document.createElement("span");
        note.className = "note";
        note.id = "note-" + f.field;
        note.setAttribute("aria-live", "polite");
        input.addEventListener("blur", function () { check(f.field); });
        section.appendChild(label);
        section.appendChild(input);
        section.appendChild(err);
        section.appendChild(note);
      });
      stepsEl.appendChild(section);
    });
    consentsEl.textContent = "";
    (next.consents || []).forEach(function (c) {
      var label = document.createElement("label");
      label.className = "consent";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.id = "consent-" + c.purpose;
      box.dataset.version = c.version;
      var text = document.createElement("span");
      text.textContent = c.text + (c.required ? " *" : "");
      label.appendChild(box);
      label.appendChild(text);
      var err = document.createElement("span");
      err.className = "error";
      err.id = "error-consents." + c.purpose;
      consentsEl.appendChild(label);
      consentsEl.appendChild(err);
    });
    show(0);
  }

  function show(i) {
    current = i;
    steps.forEach(function (s, j) { byId("step-" + s.id).hidden = j !== i; });
    var last = i === steps.length - 1;
    consentsEl.hidden = !last;
    buttons.back.hidden = i === 0;
    buttons.next.hidden = last;
    buttons.submit.hidden = !last;
    byId("progress").textContent = "Step " + (i + 1) + " of " + steps.length;
  }

  // check asks the API about one field and shows its verdict inline.
  function check(field) {
    var input = byId("field-" + field);
    if (!input) return Promise.resolve(true);
    if (field === "country") country = input.value;
    if (input.value.trim() === "") { showError(field, ""); return Promise.resolve(true); }
    return api("POST", "/v1/validate", { field: field, value: input.value, country: country }).then(function (r) {
      var vs = r.body.violations || [];
      var rejects = vs.filter(function (v) { return v.severity === "reject"; });
      showError(field, rejects.length ? rejects[0].message : "");
      // A repaired value (an email taken out of "Name <addr>", mailto:, quotes …)
      // is shown in the field, with what was repaired, before it is sent.
      var repairs = vs.filter(function (v) { return v.severity === "warn" && /^email_.*_(removed|decoded|trimmed)$/.test(v.code); });
      var note = byId("note-" + field);
      if (note && input.value !== input.dataset.repaired) note.textContent = "";
      if (!rejects.length && repairs.length && r.body.value && r.body.value !== input.value) {
        input.value = input.dataset.repaired = r.body.value;
        if (note) note.textContent = "Read as " + r.body.value + ": " + repairs.map(function (v) { return v.message; }).join("; ");
      }
      return rejects.length === 0;
    });
  }

  function stepValid(i) {
    return Promise.all(steps[i].fields.map(function (f) { return check(f.field); })).then(function (oks) {
      return oks.every(Boolean);
    });
  }

  buttons.next.addEventListener("click", function () {
    stepValid(current).then(function (ok) { if (ok) show(current + 1); });
  });
  buttons.back.addEventListener("click", function () { show(current - 1); });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    byId("form-error").textContent = "";
    var body = { submission_id: submissionID, anonymous_id: anonymousID, fields: {}, consents: {} };
    if (contactToken) body.contact_token = contactToken;
    steps.forEach(function (s) {
      s.fields.forEach(function (f) {
        var v = byId("field-" + f.field).value;
        if (v.trim() !== "") body.fields[f.field] = v;
      });
    });
    consentsEl.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      var purpose = box.id.replace(/^consent-/, "");
      if (box.checked) body.consents[purpose] = { granted: true, text_version: box.dataset.version };
    });
    buttons.submit.disabled = true;
    api("POST", "/v1/forms/" + formID + "/submissions", body).then(function (r) {
      buttons.submit.disabled = false;
      if (r.status === 200 || r.status === 202) {
        form.hidden = true;
        byId("progress").hidden = true;
        byId("done").hidden = false;
        // 202: the email belongs to a profile this browser has not shown it
        // owns; the answers wait for the link sent to that address.
        byId("done-text").textContent = r.status === 202 ? r.body.message : "Your profile is " + r.body.completeness + "% complete.";
        return;
      }
      var err = r.body.error || {};
      var shown = false;
      (err.violations || []).forEach(function (v) {
        if (showError(v.field, v.message)) shown = true;
      });
      if (!shown) byId("form-error").textContent = err.message || "Something went wrong; please try again.";
      var first = (err.violations || [])[0];
      steps.forEach(function (s, i) {
        if (first && s.fields.some(function (f) { return f.field === first.field; })) show(i);
      });
    }, function () {
      buttons.submit.disabled = false;
      byId("form-error").textContent = "Could not reach the server; please try again.";
    });
  });

  api("GET", "/v1/forms/" + formID + "/next?anonymous_id=" + encodeURIComponent(anonymousID) +
    (contactToken ? "&contact_token=" + encodeURIComponent(contactToken) : "")).then(function (r) {
    if (r.status !== 200) { byId("form-error").textContent = (r.body.error || {}).message || "This form is not available."; return; }
    if (r.body.complete) {
      form.hidden = true;
      byId("done").hidden = false;
      byId("done-text").textContent = "We have everything we need. Thank you!";
      return;
    }
    render(r.body);
  });
})();
