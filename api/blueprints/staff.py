"""The staff page: a waiter types a phone number, email or loyalty number and sees the guest, the
offer to give now with its reason, and a Redeem button.

One self-contained HTML page (CSS and script inline, nothing fetched from elsewhere) that talks
to the JSON endpoints with a staff API key kept in the tab's ``sessionStorage``. The page itself
needs no key and carries no data; everything shown is set with ``textContent``. A per-response
nonce lets the Content-Security-Policy refuse every other script and style.

The blueprint has ``doc_ui=False``: the page is not part of the OpenAPI document.
"""

from __future__ import annotations

import secrets

from flask import Response
from flask_openapi3 import APIBlueprint

from api import API_PREFIX
from api.auth import public

bp = APIBlueprint("staff", __name__, doc_ui=False)


@bp.get("/staff", doc_ui=False)
@public
def staff_page():
    nonce = secrets.token_urlsafe(16)
    html = PAGE.replace("__NONCE__", nonce).replace("__API__", API_PREFIX)
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Guest offers</title>
<link rel="icon" href="data:,">
<style nonce="__NONCE__">
  :root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #1a7f37;
          --warn: #9a6700; --bad: #cf222e; --bg: #f6f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: var(--ink); background: var(--bg); }
  header { background: #24292f; color: #fff; padding: .75rem 1rem; display: flex;
           flex-wrap: wrap; gap: .75rem; align-items: center; justify-content: space-between; }
  header h1 { font-size: 1.2rem; margin: 0; }
  #key-form { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
  #key-form label { font-size: .85rem; }
  #key-state { font-size: .8rem; color: #d0d7de; }
  main { max-width: 40rem; margin: 1.25rem auto; padding: 0 1rem; }
  #search-form { display: flex; gap: .5rem; flex-wrap: wrap; }
  #search-form label { flex-basis: 100%; font-weight: 600; }
  input { font: inherit; padding: .55rem .7rem; border: 1px solid var(--line);
          border-radius: 6px; min-width: 0; }
  #q { flex: 1; font-size: 1.1rem; }
  button { font: inherit; padding: .55rem 1rem; border-radius: 6px; border: 1px solid #1f232826;
           background: #fff; cursor: pointer; }
  button.primary { background: var(--accent); color: #fff; border-color: var(--accent);
                   font-weight: 600; }
  button:disabled { opacity: .6; cursor: default; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          padding: 1rem 1.25rem; margin-top: 1rem; }
  #guest-name { margin: 0 0 .25rem; font-size: 1.5rem; }
  .tier { display: inline-block; padding: .1rem .6rem; border-radius: 999px;
          background: #ddf4ff; color: #0550ae; font-weight: 600; font-size: .9rem; }
  .muted { color: var(--muted); font-size: .9rem; }
  .reward { font-size: 1.25rem; font-weight: 700; margin: .75rem 0 .25rem; }
  blockquote { margin: .5rem 0; padding: .5rem .75rem; border-left: 4px solid var(--accent);
               background: #f0fff4; }
  .why { margin: .5rem 0; }
  .why b { color: var(--warn); }
  #no-offer { color: var(--warn); font-weight: 600; }
  #confirmation { color: var(--accent); font-weight: 700; font-size: 1.1rem; }
  #error { color: var(--bad); font-weight: 600; }
  #status { color: var(--muted); min-height: 1.4em; margin: .5rem 0 0; }
  #matches ul { list-style: none; padding: 0; margin: .5rem 0 0; }
  #matches li { margin: .25rem 0; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<header>
  <h1>Guest offers</h1>
  <form id="key-form" autocomplete="off">
    <label for="key">Staff key</label>
    <input id="key" type="password" placeholder="lk_..." autocomplete="off" spellcheck="false">
    <button type="submit">Save key</button>
    <button type="button" id="forget-key">Forget</button>
    <span id="key-state"></span>
  </form>
</header>
<main>
  <form id="search-form" autocomplete="off">
    <label for="q">Phone, email or loyalty number</label>
    <input id="q" name="q" maxlength="254" required spellcheck="false"
           placeholder="e.g. 900 000 123, ana@example.com, L000042">
    <button type="submit" class="primary" id="search-btn">Find guest</button>
  </form>
  <p id="status" role="status" aria-live="polite"></p>
  <p id="error" role="alert" hidden></p>
  <section id="matches" class="card" hidden>
    <p>More than one guest matches; pick one:</p>
    <ul id="match-list"></ul>
  </section>
  <section id="guest" class="card" hidden>
    <h2 id="guest-name"></h2>
    <div><span id="guest-tier" class="tier"></span>
      <span id="guest-card" class="muted"></span></div>
    <div id="offer" hidden>
      <p class="reward" id="offer-reward"></p>
      <blockquote id="offer-message"></blockquote>
      <p class="why"><b>Why:</b> <span id="offer-reason"></span></p>
      <p class="muted">Code <code id="offer-code"></code> &middot; valid until
        <span id="offer-expiry"></span></p>
      <button type="button" class="primary" id="redeem-btn">Redeem</button>
    </div>
    <p id="no-offer" hidden></p>
    <p id="confirmation" role="status" hidden></p>
  </section>
</main>
<script nonce="__NONCE__">
"use strict";
(function () {
  const API = "__API__";
  const KEY = "loyalty.staffKey";
  const $ = (id) => document.getElementById(id);
  let shownOffer = null;

  class ApiError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }

  function storedKey() {
    try { return sessionStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }

  function say(id, text) {
    const el = $(id);
    el.textContent = text || "";
    if (id !== "status") el.hidden = !text;
  }

  function showKeyState() {
    $("key-state").textContent = storedKey() ? "Key saved for this tab."
                                             : "No key yet: paste the staff key.";
  }

  async function call(method, path, body) {
    const headers = { "Accept": "application/json" };
    const key = storedKey();
    if (key) headers["Authorization"] = "Bearer " + key;
    const init = { method: method, headers: headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(API + path, init);
    } catch (e) {
      throw new ApiError(0, "The service cannot be reached; check the connection and retry.");
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const detail = (data && (data.detail || data.title)) || ("HTTP " + response.status);
      throw new ApiError(response.status, detail);
    }
    return data;
  }

  function explain(err) {
    if (err.status === 401) return "The key was not accepted (" + err.message +
                                   "). Paste a valid staff key above.";
    if (err.status === 403) return "This key cannot do that: " + err.message;
    return String(err.message || "Something went wrong.");
  }

  function word(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
  }

  function day(iso) {
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleDateString(undefined,
      { year: "numeric", month: "short", day: "numeric" });
  }

  function clearResult() {
    shownOffer = null;
    ["error", "no-offer", "confirmation"].forEach((id) => say(id, ""));
    say("status", "");
    $("guest").hidden = true;
    $("matches").hidden = true;
    $("offer").hidden = true;
    $("match-list").replaceChildren();
  }

  async function search(ev) {
    ev.preventDefault();
    clearResult();
    const q = $("q").value.trim();
    if (!q) { say("error", "Type a phone number, email or loyalty number."); return; }
    if (!storedKey()) {
      say("error", "Paste the staff key first (your manager has it).");
      $("key").focus();
      return;
    }
    $("search-btn").disabled = true;
    say("status", "Looking up the guest\\u2026");
    try {
      const found = await call("GET", "/customers?q=" + encodeURIComponent(q));
      const items = (found && found.items) || [];
      if (items.length === 1) {
        await showGuest(items[0]);
      } else if (items.length === 0) {
        say("status", "");
        say("error", "No guest found for \\u201c" + q + "\\u201d.");
      } else {
        say("status", "");
        showMatches(items);
      }
    } catch (err) {
      say("status", "");
      if (err.status === 404) {
        say("error", "No guest found for \\u201c" + q +
                     "\\u201d. Check the number, or try the email or loyalty number.");
      } else {
        say("error", explain(err));
      }
    } finally {
      $("search-btn").disabled = false;
    }
  }

  function showMatches(items) {
    const list = $("match-list");
    for (const item of items) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = item.name + " \\u00b7 " + word(item.tier || "no card") +
                           (item.loyalty_number ? " \\u00b7 " + item.loyalty_number : "");
      button.addEventListener("click", () => { clearResult(); showGuest(item); });
      li.appendChild(button);
      list.appendChild(li);
    }
    $("matches").hidden = false;
  }

  async function showGuest(guest) {
    $("guest-name").textContent = guest.name;
    $("guest-tier").textContent = guest.tier ? word(guest.tier) : "No tier";
    $("guest-card").textContent = guest.loyalty_number ? "Card " + guest.loyalty_number
                                                       : "No loyalty card";
    $("guest").hidden = false;
    say("status", "Finding the offer\\u2026");
    try {
      const data = await call("GET", "/customers/" + encodeURIComponent(guest.id) + "/offer");
      say("status", "");
      if (!data.offer) {
        say("no-offer", "No offer now: " + (data.reason || "nothing to give this guest today."));
        return;
      }
      shownOffer = data.offer;
      $("offer-reward").textContent = data.offer.reward;
      $("offer-message").textContent = data.offer.message;
      $("offer-reason").textContent = data.offer.reason || "\\u2014";
      $("offer-code").textContent = data.offer.code;
      $("offer-expiry").textContent = day(data.offer.expires_at);
      $("redeem-btn").hidden = false;
      $("redeem-btn").disabled = false;
      $("offer").hidden = false;
    } catch (err) {
      say("status", "");
      say("error", explain(err));
    }
  }

  async function redeemShown() {
    if (!shownOffer) return;
    const button = $("redeem-btn");
    button.disabled = true;
    say("error", "");
    try {
      const done = await call("POST", "/offers/" + encodeURIComponent(shownOffer.code) +
                                      "/redeem", {});
      button.hidden = true;
      const at = new Date(done.redeemed_at);
      say("confirmation", "Redeemed \\u2714 " + done.reward + " (code " + done.code + ") at " +
                          (isNaN(at) ? done.redeemed_at : at.toLocaleTimeString()) + ".");
    } catch (err) {
      button.disabled = false;
      say("error", "Not redeemed: " + explain(err));
    }
  }

  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("key").value.trim();
    if (value) {
      try { sessionStorage.setItem(KEY, value); } catch (e) { /* storage off: nothing kept */ }
    }
    $("key").value = "";
    showKeyState();
    $("q").focus();
  });
  $("forget-key").addEventListener("click", () => {
    try { sessionStorage.removeItem(KEY); } catch (e) { /* nothing stored */ }
    showKeyState();
  });
  $("search-form").addEventListener("submit", search);
  $("redeem-btn").addEventListener("click", redeemShown);
  showKeyState();
})();
</script>
</body>
</html>
"""
