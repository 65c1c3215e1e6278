/*
 * Authature signing pad.
 *
 * Plain ES2017, no dependencies, no inline code: works under a strict Content-Security-Policy.
 * Loaded with <script src="/static/signature-pad.js" defer> on a page that includes _pad.html
 * inside <form method="post" data-signature-form>.
 *
 * Records every sample the browser delivers (coalesced pointer events) as [x, y, t, p]:
 * x, y in CSS pixels from the canvas's top-left corner, t in ms from the first point of the
 * capture, p the pointer pressure (0.5 for a mouse while a button is down). On submit it
 * writes the capture (SPEC section 6) as JSON into the hidden "capture" input:
 *   {"strokes": [[[x, y, t, p], ...], ...], "width": w, "height": h, "dpr": r,
 *    "pointer_type": "pen" | "mouse" | "touch"}
 */
(function () {
  "use strict";

  var EMPTY_MESSAGE = "Please sign in the box first.";
  // Keep in step with authature/biometrics/capture.py (SPEC section 6).
  var MAX_STROKES = 64;
  var MAX_POINTS = 10000;
  var MAX_DURATION_MS = 60000;
  var POINTER_TYPES = { pen: "pen", mouse: "mouse", touch: "touch" };

  function round2(value) {
    return Math.round(value * 100) / 100;
  }

  function clamp(value, low, high) {
    if (!(value >= low)) return low; // also catches NaN
    return value > high ? high : value;
  }

  function midpoint(a, b) {
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }

  class SignaturePad {
    constructor(canvas) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.root = canvas.closest("[data-signature-form]") || canvas.closest("form") || document;
      this.form = canvas.closest("form");
      this.input = this.root.querySelector('input[name="capture"]');
      this.undoButton = this.root.querySelector('[data-testid="undo"]');
      this.clearButton = this.root.querySelector('[data-testid="clear"]');
      this.submitButton = this.root.querySelector('[data-testid="submit-signature"]');
      this.stateText = document.getElementById(canvas.getAttribute("data-state-id") || "");
      this.status = document.querySelector("[data-testid=status]");
      this.statusOriginal = null; // server's sentence, restored once the user starts drawing

      this.strokes = []; // {type, points: [{x, y, ts, p}]}, coordinates in capture space
      this.active = null; // {pointerId, stroke, rect, cssWidth}
      this.space = null; // {width, height}: CSS size of the canvas when the capture started
      this.lastTs = -Infinity;
      this.cssWidth = 0;
      this.cssHeight = 0;
      this.dpr = 1;
      this.submitted = false;

      this.bind();
      this.resize();
      this.updateState();
    }

    bind() {
      var canvas = this.canvas;
      var self = this;
      canvas.addEventListener("pointerdown", function (e) { self.onPointerDown(e); });
      canvas.addEventListener("pointermove", function (e) { self.onPointerMove(e); });
      canvas.addEventListener("pointerup", function (e) { self.onPointerUp(e); });
      canvas.addEventListener("pointercancel", function (e) { self.onPointerUp(e); });
      canvas.addEventListener("lostpointercapture", function (e) { self.onPointerUp(e); });
      // Belt and braces next to `touch-action: none`: no scrolling, zooming, text selection,
      // long-press menu or compatibility mouse events while drawing.
      var stop = function (e) { if (e.cancelable) e.preventDefault(); };
      canvas.addEventListener("touchstart", stop, { passive: false });
      canvas.addEventListener("touchmove", stop, { passive: false });
      canvas.addEventListener("contextmenu", stop);
      canvas.addEventListener("selectstart", stop);
      canvas.addEventListener("dragstart", stop);
      canvas.addEventListener("keydown", function (e) { self.onKeyDown(e); });

      if (this.undoButton) {
        this.undoButton.addEventListener("click", function () { self.undo(); });
      }
      if (this.clearButton) {
        this.clearButton.addEventListener("click", function () { self.clear(); });
      }
      if (this.form) {
        this.form.addEventListener("submit", function (e) { self.onSubmit(e); });
      }
      window.addEventListener("pageshow", function (e) {
        if (e.persisted) self.resetSubmitted(); // page restored from the back/forward cache
      });

      if (typeof ResizeObserver === "function") {
        new ResizeObserver(function () { self.resize(); }).observe(canvas);
      }
      window.addEventListener("resize", function () { self.resize(); });
    }

    // ----- geometry and drawing -------------------------------------------------------------

    resize() {
      var style = window.getComputedStyle(this.canvas);
      var width = parseFloat(style.width) || this.canvas.clientWidth;
      var height = parseFloat(style.height) || this.canvas.clientHeight;
      var dpr = window.devicePixelRatio || 1;
      if (!(width > 0 && height > 0)) return; // hidden (display: none); try again later
      if (width === this.cssWidth && height === this.cssHeight && dpr === this.dpr) return;
      this.cssWidth = width;
      this.cssHeight = height;
      this.dpr = dpr;
      this.canvas.width = Math.max(1, Math.round(width * dpr));
      this.canvas.height = Math.max(1, Math.round(height * dpr));
      this.redraw();
    }

    scale() {
      // Capture-space units to CSS pixels: the canvas may have been resized (phone rotated)
      // after the capture started; the strokes keep their own coordinate space.
      return this.space ? this.cssWidth / this.space.width : 1;
    }

    inkStyle() {
      var color = window.getComputedStyle(this.canvas).color;
      return color || "#14213d";
    }

    lineWidth(stroke, point) {
      var base = Math.max(1.6, Math.min(3.2, this.cssWidth / 220));
      if (stroke.type === "mouse") return base;
      return base * (0.55 + 0.9 * clamp(point.p, 0, 1));
    }

    redraw() {
      var ctx = this.ctx;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
      var k = this.dpr * this.scale();
      ctx.setTransform(k, 0, 0, k, 0, 0);
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = this.inkStyle();
      ctx.fillStyle = ctx.strokeStyle;
      for (var s = 0; s < this.strokes.length; s++) {
        var stroke = this.strokes[s];
        for (var i = 0; i < stroke.points.length; i++) this.drawSegment(stroke, i);
        if (!this.active || this.active.stroke !== stroke) this.drawTail(stroke);
      }
    }

    // Smooth ink: quadratic curves through the midpoints of consecutive samples.
    drawSegment(stroke, i) {
      var ctx = this.ctx;
      var pts = stroke.points;
      var p = pts[i];
      if (i === 0) {
        ctx.beginPath();
        ctx.arc(p.x, p.y, this.lineWidth(stroke, p) / 2, 0, 2 * Math.PI);
        ctx.fill();
        return;
      }
      var prev = pts[i - 1];
      var to = midpoint(prev, p);
      ctx.beginPath();
      ctx.lineWidth = this.lineWidth(stroke, prev);
      if (i === 1) {
        ctx.moveTo(prev.x, prev.y);
        ctx.lineTo(to.x, to.y);
      } else {
        var from = midpoint(pts[i - 2], prev);
        ctx.moveTo(from.x, from.y);
        ctx.quadraticCurveTo(prev.x, prev.y, to.x, to.y);
      }
      ctx.stroke();
    }

    drawTail(stroke) {
      var pts = stroke.points;
      if (pts.length < 2) return;
      var last = pts[pts.length - 1];
      var from = midpoint(pts[pts.length - 2], last);
      var ctx = this.ctx;
      ctx.beginPath();
      ctx.lineWidth = this.lineWidth(stroke, last);
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(last.x, last.y);
      ctx.stroke();
    }

    prepareContext() {
      var k = this.dpr * this.scale();
      var ctx = this.ctx;
      ctx.setTransform(k, 0, 0, k, 0, 0);
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = this.inkStyle();
      ctx.fillStyle = ctx.strokeStyle;
    }

    // ----- pointer input --------------------------------------------------------------------

    onPointerDown(e) {
      if (e.cancelable) e.preventDefault();
      if (this.active) return; // a second simultaneous pointer (palm, second finger): ignore
      if (e.pointerType === "mouse" && e.button !== 0) return;
      if (this.submitted) return;
      if (document.activeElement !== this.canvas) {
        try { this.canvas.focus({ preventScroll: true }); } catch (err) { /* old browsers */ }
      }
      try { this.canvas.setPointerCapture(e.pointerId); } catch (err) { /* not capturable */ }
      this.resize();
      if (this.strokes.length === 0) {
        this.space = { width: this.cssWidth, height: this.cssHeight };
        this.lastTs = -Infinity;
      }
      var type = POINTER_TYPES[e.pointerType] || "mouse";
      var stroke = { type: type, points: [] };
      this.active = {
        pointerId: e.pointerId,
        stroke: stroke,
        rect: this.canvas.getBoundingClientRect(),
      };
      this.strokes.push(stroke);
      this.restoreStatus();
      this.prepareContext();
      this.addPoint(e);
      this.drawSegment(stroke, 0);
    }

    onPointerMove(e) {
      var active = this.active;
      if (!active || e.pointerId !== active.pointerId) return;
      if (e.cancelable) e.preventDefault();
      if (e.pointerType === "mouse" && (e.buttons & 1) === 0) {
        this.endStroke(); // the button went up outside the window without a pointerup
        return;
      }
      var events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
      if (!events || events.length === 0) events = [e];
      this.prepareContext();
      for (var i = 0; i < events.length; i++) {
        this.addPoint(events[i]);
        this.drawSegment(active.stroke, active.stroke.points.length - 1);
      }
    }

    onPointerUp(e) {
      if (!this.active || e.pointerId !== this.active.pointerId) return;
      this.endStroke();
    }

    endStroke() {
      var active = this.active;
      this.active = null;
      try {
        if (this.canvas.hasPointerCapture(active.pointerId)) {
          this.canvas.releasePointerCapture(active.pointerId);
        }
      } catch (err) { /* already released */ }
      this.prepareContext();
      this.drawTail(active.stroke);
      this.changed();
    }

    addPoint(ev) {
      var active = this.active;
      var rect = active.rect;
      var space = this.space;
      // From client coordinates to capture space; dividing by the rect size makes this right
      // even when the page applies a CSS transform (zoom, overlay animation) to the canvas.
      var fx = rect.width > 0 ? space.width / rect.width : 1;
      var fy = rect.height > 0 ? space.height / rect.height : 1;
      var x = clamp((ev.clientX - rect.left) * fx, 0, space.width);
      var y = clamp((ev.clientY - rect.top) * fy, 0, space.height);
      var ts = ev.timeStamp;
      if (!(ts >= this.lastTs)) ts = this.lastTs; // never let time go backwards
      this.lastTs = ts;
      var p = ev.pressure;
      if (typeof p !== "number" || !isFinite(p)) p = 0.5;
      if (active.stroke.type === "mouse" && p === 0) p = 0.5; // a mouse with its button down
      active.stroke.points.push({ x: x, y: y, ts: ts, p: clamp(p, 0, 1) });
    }

    onKeyDown(e) {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "z" || e.key === "Z")) {
        e.preventDefault();
        this.undo();
      }
    }

    // ----- commands -------------------------------------------------------------------------

    undo() {
      if (this.active) return;
      this.strokes.pop();
      if (this.strokes.length === 0) this.space = null;
      this.redraw();
      this.changed();
    }

    clear() {
      if (this.active) return;
      this.strokes = [];
      this.space = null;
      this.redraw();
      this.changed();
    }

    changed() {
      if (this.input) this.input.value = this.strokes.length ? JSON.stringify(this.capture()) : "";
      this.updateState();
    }

    updateState() {
      var count = this.strokes.length;
      var text = count === 0 ? "The pad is empty." :
        count === 1 ? "1 stroke drawn." : count + " strokes drawn.";
      if (this.stateText) this.stateText.textContent = text;
      this.canvas.setAttribute("data-strokes", String(count));
    }

    capture() {
      var strokes = [];
      var t0 = this.strokes.length ? this.strokes[0].points[0].ts : 0;
      var lastT = 0;
      for (var s = 0; s < this.strokes.length; s++) {
        var pts = this.strokes[s].points;
        var out = [];
        for (var i = 0; i < pts.length; i++) {
          var pt = pts[i];
          var t = Math.max(lastT, round2(pt.ts - t0));
          lastT = t;
          out.push([round2(pt.x), round2(pt.y), t, Math.round(pt.p * 10000) / 10000]);
        }
        strokes.push(out);
      }
      return {
        strokes: strokes,
        width: this.space ? round2(this.space.width) : round2(this.cssWidth),
        height: this.space ? round2(this.space.height) : round2(this.cssHeight),
        dpr: window.devicePixelRatio || 1,
        pointer_type: this.strokes.length ? this.strokes[0].type : "mouse",
      };
    }

    problem() {
      if (this.strokes.length === 0) return EMPTY_MESSAGE;
      if (this.strokes.length > MAX_STROKES) {
        return "Too many strokes (at most " + MAX_STROKES + "). Please clear the box and sign again.";
      }
      var points = 0;
      for (var s = 0; s < this.strokes.length; s++) points += this.strokes[s].points.length;
      if (points > MAX_POINTS) {
        return "The signature is too long. Please clear the box and sign again.";
      }
      var last = this.strokes[this.strokes.length - 1].points;
      if (last[last.length - 1].ts - this.strokes[0].points[0].ts > MAX_DURATION_MS) {
        return "The signature took too long (over a minute). Please clear the box and sign again.";
      }
      return null;
    }

    // ----- form submission and status -------------------------------------------------------

    onSubmit(e) {
      var submitter = e.submitter;
      if (submitter && submitter !== this.submitButton &&
          (submitter.hasAttribute("formnovalidate") || submitter.hasAttribute("data-skip-signature"))) {
        return; // e.g. a "Deny" button in the same form: no signature needed
      }
      if (this.submitted) {
        e.preventDefault(); // the first post is already on its way
        return;
      }
      if (this.active) this.endStroke();
      var problem = this.problem();
      if (problem) {
        e.preventDefault();
        this.say(problem);
        try { this.canvas.focus({ preventScroll: false }); } catch (err) { /* ignore */ }
        return;
      }
      if (this.input) this.input.value = JSON.stringify(this.capture());
      this.submitted = true;
      var self = this;
      // Disable after the browser has built the form data, and only if nobody cancelled.
      window.setTimeout(function () {
        if (e.defaultPrevented) {
          self.submitted = false;
        } else if (self.submitButton) {
          self.submitButton.disabled = true;
          self.submitButton.setAttribute("aria-busy", "true");
        }
      }, 0);
    }

    resetSubmitted() {
      this.submitted = false;
      if (this.submitButton) {
        this.submitButton.disabled = false;
        this.submitButton.removeAttribute("aria-busy");
      }
    }

    say(message) {
      if (!this.status) return;
      if (this.statusOriginal === null) this.statusOriginal = this.status.innerHTML; // the server's own markup, restored as it was
      this.status.textContent = message;
      this.status.setAttribute("data-pad-message", "true");
    }

    restoreStatus() {
      if (!this.status || this.statusOriginal === null) return;
      this.status.innerHTML = this.statusOriginal;
      this.status.removeAttribute("data-pad-message");
      this.statusOriginal = null;
    }
  }

  function init() {
    var canvases = document.querySelectorAll('canvas[data-testid="signature-pad"]');
    for (var i = 0; i < canvases.length; i++) {
      if (!canvases[i].authaturePad) canvases[i].authaturePad = new SignaturePad(canvases[i]);
    }
  }

  // In the overlay of authature.js (an iframe), Escape closes the overlay: tell the parent page,
  // which checks that the message comes from Authature's origin and from its own frame.
  function forwardEscape(e) {
    if ((e.key === "Escape" || e.key === "Esc") && !e.defaultPrevented) {
      window.parent.postMessage({ authature: { event: "escape" } }, "*");
    }
  }

  window.AuthatureSignaturePad = SignaturePad;
  if (window.parent !== window) document.addEventListener("keydown", forwardEscape);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
