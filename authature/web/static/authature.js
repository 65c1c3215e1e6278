/*
 * authature.js: the browser client for Authature (SPEC 5.2). Plain ES2017, no dependencies,
 * no inline styles or code of its own, so it runs under a client page's strict CSP.
 *
 * On the client's page:
 *
 *   <script src="https://authature.example/authature.js"></script>
 *   var client = new authature.Client({
 *     authature_site: "https://authature.example",
 *     client_id: "...", response_type: "code",
 *     redirect_uri: "https://shop.example/authature/callback",
 *     state: "<random, kept in the session>", device_uid: "...", scope: "authenticate",
 *     ux_style: "inline",                       // or "popup"
 *     user_params: { identifier: "ada@example.com", first_name: "Ada" },
 *     complete: function (result) { ... }       // {code, state} or {error, error_description, state}
 *   });
 *   client.open();                              // also client.authorize(); returns a Promise
 *
 * On the redirect page (redirect_uri, on the client's own origin):
 *
 *   <script src="https://authature.example/authature.js"></script>
 *   <script src="/callback.js"></script>      // calls authature.completeRedirect();
 *
 * completeRedirect() reads code/state/error from its own URL and posts them to the page that
 * opened the flow (the parent of the overlay's iframe, or the opener of the pop-up), only to
 * its own origin. The client accepts the result only from the redirect URI's origin and only
 * with the state it sent; it then closes the overlay or pop-up and calls `complete`.
 */
(function (root) {
  "use strict";

  var CHANNEL = "authature";
  var RESULT_FIELDS = ["code", "state", "error", "error_description", "error_uri", "iss"];
  var EXTRA_PARAMS = ["ref_id", "amount", "code_challenge", "code_challenge_method", "nonce"];
  var POPUP_WIDTH = 520;
  var POPUP_HEIGHT = 760;

  function originOf(url) {
    try {
      var parsed = new URL(url, root.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.origin : null;
    } catch (err) {
      return null;
    }
  }

  function randomState() {
    var bytes = new Uint8Array(16);
    root.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function setStyles(element, styles) {
    // CSSOM assignments are allowed under a CSP without 'unsafe-inline'; style attributes are not.
    Object.keys(styles).forEach(function (name) { element.style.setProperty(name, styles[name]); });
  }

  function pick(source) {
    var result = {};
    RESULT_FIELDS.forEach(function (name) {
      if (typeof source[name] === "string") result[name] = source[name];
    });
    return result;
  }

  class Client {
    constructor(config) {
      if (!config || typeof config !== "object") throw new TypeError("authature.Client needs a config object");
      ["authature_site", "client_id", "redirect_uri"].forEach(function (name) {
        if (!config[name]) throw new TypeError("authature.Client: config." + name + " is required");
      });
      this.config = Object.assign({ response_type: "code", ux_style: "inline" }, config);
      if (!this.config.state) this.config.state = randomState();
      if (this.config.ux_style !== "inline" && this.config.ux_style !== "popup") {
        throw new TypeError('authature.Client: ux_style must be "inline" or "popup"');
      }
      this.site = String(this.config.authature_site).replace(/\/+$/, "");
      this.siteOrigin = originOf(this.site);
      this.redirectOrigin = originOf(this.config.redirect_uri);
      if (!this.siteOrigin) throw new TypeError("authature.Client: authature_site must be an http(s) URL");
      if (!this.redirectOrigin) {
        throw new TypeError("authature.Client: redirect_uri must be an http(s) URL on your site");
      }
      this.state = String(this.config.state);
      this.active = false;
      this.overlay = null;
      this.frame = null;
      this.popup = null;
      this.popupTimer = null;
      this.channel = null;
      this.returnFocus = null;
      this.savedOverflow = null;
      this.resolve = null;
      this.onMessage = this.onMessage.bind(this);
      this.onKeyDown = this.onKeyDown.bind(this);
      this.onFocusIn = this.onFocusIn.bind(this);
    }

    /** The /oauth/authorize URL this client sends the user to. */
    authorizeUrl() {
      var c = this.config;
      var params = new URLSearchParams();
      params.set("client_id", c.client_id);
      params.set("redirect_uri", c.redirect_uri);
      params.set("response_type", c.response_type);
      params.set("state", this.state);
      if (c.scope) params.set("scope", Array.isArray(c.scope) ? c.scope.join(" ") : String(c.scope));
      if (c.device_uid) params.set("device_uid", c.device_uid);
      params.set("ux_style", c.ux_style);
      EXTRA_PARAMS.forEach(function (name) {
        if (c[name] !== undefined && c[name] !== null) params.set(name, String(c[name]));
      });
      var userParams = c.user_params || {};
      Object.keys(userParams).forEach(function (name) {
        var value = userParams[name];
        if (value !== undefined && value !== null && value !== "") {
          params.set("user_params[" + name + "]", String(value));
        }
      });
      var extra = c.params || {};
      Object.keys(extra).forEach(function (name) { params.set(name, String(extra[name])); });
      return this.site + "/oauth/authorize?" + params.toString();
    }

    /** Start the flow; resolves (never rejects) with the same object given to `complete`. */
    open() {
      var self = this;
      if (this.active) {
        if (this.popup && !this.popup.closed) this.popup.focus();
        else if (this.frame) this.frame.focus();
        return this.promise;
      }
      this.active = true;
      this.promise = new Promise(function (resolve) { self.resolve = resolve; });
      root.addEventListener("message", this.onMessage);
      if (typeof root.BroadcastChannel === "function") {
        // A fallback path for a pop-up that lost its opener (e.g. Cross-Origin-Opener-Policy).
        this.channel = new root.BroadcastChannel(CHANNEL);
        this.channel.onmessage = function (event) { self.onChannelMessage(event); };
      }
      var url = this.authorizeUrl();
      if (this.config.ux_style === "popup" && this.openPopup(url)) return this.promise;
      this.openOverlay(url); // inline, or the pop-up was blocked
      return this.promise;
    }

    authorize() {
      return this.open();
    }

    /** Close the overlay or pop-up as if the user had cancelled. */
    cancel(description) {
      this.finish({
        error: "access_denied",
        error_description: description || "The user closed the sign-in window.",
        state: this.state,
      });
    }

    close() {
      this.cancel();
    }

    openPopup(url) {
      var width = Math.min(POPUP_WIDTH, root.screen.availWidth || POPUP_WIDTH);
      var height = Math.min(POPUP_HEIGHT, root.screen.availHeight || POPUP_HEIGHT);
      var left = (root.screenX || 0) + Math.max(0, ((root.outerWidth || width) - width) / 2);
      var top = (root.screenY || 0) + Math.max(0, ((root.outerHeight || height) - height) / 2);
      var features = "popup=yes,width=" + width + ",height=" + height +
        ",left=" + Math.round(left) + ",top=" + Math.round(top);
      var popup = root.open(url, "authature_" + this.state.slice(0, 16).replace(/\W/g, ""), features);
      if (!popup) return false;
      this.popup = popup;
      var self = this;
      this.popupTimer = root.setInterval(function () {
        if (self.popup && self.popup.closed) self.cancel("The user closed the sign-in window.");
      }, 400);
      try { popup.focus(); } catch (err) { /* ignore */ }
      return true;
    }

    openOverlay(url) {
      var doc = root.document;
      this.returnFocus = doc.activeElement;
      var overlay = doc.createElement("div");
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-modal", "true");
      overlay.setAttribute("aria-label", "Sign in with Authature");
      overlay.setAttribute("data-authature-overlay", "");
      setStyles(overlay, {
        position: "fixed", top: "0", right: "0", bottom: "0", left: "0", "z-index": "2147483000", display: "flex",
        "align-items": "center", "justify-content": "center",
        background: "rgba(15, 20, 30, 0.55)", padding: "0", margin: "0",
      });
      var box = doc.createElement("div");
      setStyles(box, {
        position: "relative", width: "100%", "max-width": "520px", height: "100%",
        "max-height": "780px", background: "#fff", "border-radius": "12px", overflow: "hidden",
        "box-shadow": "0 12px 48px rgba(0, 0, 0, 0.35)",
      });
      var frame = doc.createElement("iframe");
      frame.src = url;
      frame.title = "Sign in with Authature";
      frame.setAttribute("data-authature-frame", "");
      frame.setAttribute("allow", "publickey-credentials-get");
      frame.setAttribute("referrerpolicy", "origin");
      setStyles(frame, { display: "block", width: "100%", height: "100%", border: "0" });
      var close = doc.createElement("button");
      close.type = "button";
      close.textContent = "\u00d7";
      close.setAttribute("aria-label", "Close sign-in");
      close.setAttribute("data-authature-close", "");
      setStyles(close, {
        position: "absolute", top: "6px", right: "6px", width: "40px", height: "40px",
        border: "0", "border-radius": "50%", background: "rgba(255, 255, 255, 0.9)",
        color: "#1b2130", font: "28px/1 system-ui, sans-serif", cursor: "pointer", "z-index": "1",
      });
      var self = this;
      close.addEventListener("click", function () { self.cancel(); });
      overlay.addEventListener("click", function (event) {
        if (event.target === overlay) self.cancel(); // a click on the dimmed backdrop
      });
      // Focus sentinels: Tab past the close button wraps to the frame, Shift+Tab before the
      // frame wraps to the close button (a modal dialog keeps the focus inside).
      function sentinel(target) {
        var el = doc.createElement("span");
        el.tabIndex = 0;
        el.setAttribute("data-authature-sentinel", "");
        el.addEventListener("focus", function () { target().focus(); });
        return el;
      }
      box.appendChild(sentinel(function () { return close; }));
      box.appendChild(frame);
      box.appendChild(close);
      box.appendChild(sentinel(function () { return frame; }));
      overlay.appendChild(box);
      doc.body.appendChild(overlay);
      this.overlay = overlay;
      this.frame = frame;
      this.savedOverflow = doc.documentElement.style.getPropertyValue("overflow");
      doc.documentElement.style.setProperty("overflow", "hidden");
      doc.addEventListener("keydown", this.onKeyDown, true);
      // A modal dialog: the page behind it leaves the tab order and the accessibility tree
      // (inert), so Tab cycles between the sign-in frame and the close button.
      this.inerted = [];
      for (var i = 0; i < doc.body.children.length; i++) {
        var el = doc.body.children[i];
        if (el !== overlay && !el.inert) { el.inert = true; this.inerted.push(el); }
      }
      doc.addEventListener("focusin", this.onFocusIn, true);
      frame.focus();
    }

    onFocusIn(event) {
      // Where `inert` is not supported: focus that lands behind the overlay comes back.
      if (this.overlay && this.frame && !this.overlay.contains(event.target)) this.frame.focus();
    }

    onKeyDown(event) {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        this.cancel();
      }
    }

    expectedSource(source) {
      if (this.frame && source === this.frame.contentWindow) return true;
      return Boolean(this.popup && source === this.popup);
    }

    onMessage(event) {
      var data = event.data && event.data.authature;
      if (!this.active || !data || typeof data !== "object") return;
      if (event.origin === this.siteOrigin && data.event === "escape" && this.frame &&
          event.source === this.frame.contentWindow) {
        this.cancel(); // Escape pressed inside the Authature page in our overlay
        return;
      }
      if (event.origin !== this.redirectOrigin) return; // only our own redirect page may answer
      if (!this.expectedSource(event.source)) return;
      this.accept(pick(data), true);
    }

    onChannelMessage(event) {
      var data = event.data && event.data.authature;
      if (!this.active || !data || typeof data !== "object") return;
      // Same-origin by construction, but other tabs share the channel: only our state counts.
      if (data.state !== this.state) return;
      this.accept(pick(data), false);
    }

    accept(result, fromOurWindow) {
      if (result.state !== this.state) {
        if (!fromOurWindow) return;
        this.finish({
          error: "state_mismatch",
          error_description: "The state returned by Authature does not match the state sent; " +
            "the response was discarded.",
          state: result.state,
        });
        return;
      }
      if (result.error) {
        var failure = { error: result.error, state: result.state };
        if (result.error_description) failure.error_description = result.error_description;
        if (result.error_uri) failure.error_uri = result.error_uri;
        this.finish(failure);
      } else if (result.code) {
        var success = { code: result.code, state: result.state };
        if (result.iss) success.iss = result.iss;
        this.finish(success);
      } else {
        this.finish({
          error: "server_error",
          error_description: "The redirect carried neither a code nor an error.",
          state: result.state,
        });
      }
    }

    finish(result) {
      if (!this.active) return;
      this.active = false;
      var doc = root.document;
      root.removeEventListener("message", this.onMessage);
      doc.removeEventListener("keydown", this.onKeyDown, true);
      doc.removeEventListener("focusin", this.onFocusIn, true);
      (this.inerted || []).forEach(function (el) { el.inert = false; });
      this.inerted = [];
      if (this.channel) { this.channel.close(); this.channel = null; }
      if (this.popupTimer) { root.clearInterval(this.popupTimer); this.popupTimer = null; }
      if (this.popup) {
        try { if (!this.popup.closed) this.popup.close(); } catch (err) { /* ignore */ }
        this.popup = null;
      }
      if (this.overlay) {
        if (this.overlay.parentNode) this.overlay.parentNode.removeChild(this.overlay);
        this.overlay = null;
        this.frame = null;
        if (this.savedOverflow) doc.documentElement.style.setProperty("overflow", this.savedOverflow);
        else doc.documentElement.style.removeProperty("overflow");
        if (this.returnFocus && typeof this.returnFocus.focus === "function") {
          try { this.returnFocus.focus(); } catch (err) { /* ignore */ }
        }
      }
      if (this.resolve) this.resolve(result);
      if (typeof this.config.complete === "function") {
        var complete = this.config.complete;
        // Outside our stack, so an exception in the callback cannot leave us half closed.
        root.setTimeout(function () { complete(result); }, 0);
      }
    }
  }

  /**
   * Call from the redirect page (on the client's origin). Reads code/state/error from the URL
   * (query, or fragment) and posts {authature: {...}} to the window that started the flow.
   * options.targetOrigin: the origin of that window, when it differs from this page's origin.
   * Returns the result, so a page opened without the client can handle it itself.
   */
  function completeRedirect(options) {
    options = options || {};
    var query = new URLSearchParams(root.location.search);
    var fragment = new URLSearchParams(root.location.hash.replace(/^#/, ""));
    var result = {};
    RESULT_FIELDS.forEach(function (name) {
      var value = query.has(name) ? query.get(name) : fragment.get(name);
      if (value !== null) result[name] = value;
    });
    var message = { authature: result };
    var target = options.targetOrigin || root.location.origin;
    var sent = false;
    var windows = [];
    if (root.opener && root.opener !== root) windows.push(root.opener);
    if (root.parent && root.parent !== root) windows.push(root.parent);
    windows.forEach(function (win) {
      try {
        win.postMessage(message, target);
        sent = true;
      } catch (err) { /* closed or unreachable */ }
    });
    if (!sent && typeof root.BroadcastChannel === "function") {
      var channel = new root.BroadcastChannel(CHANNEL);
      channel.postMessage(message);
      channel.close();
    }
    return result;
  }

  root.authature = Object.assign(root.authature || {}, {
    Client: Client,
    completeRedirect: completeRedirect,
  });
})(window);
