// The collection map (templates/public/map.html): /map.json drawn on a canvas, with hover and keyboard
// titles, click to open, drag or arrow keys to pan, wheel, pinch or +/- to zoom. The points go into one pixel
// buffer per frame, which keeps 10,000 of them smooth; a grid of buckets finds the point under the pointer
// without a scan.
(function () {
  "use strict";
  var figure = document.querySelector(".collection-map");
  if (!figure || !window.fetch || !document.createElement("canvas").getContext) return;
  var canvas = figure.querySelector(".map-canvas");
  var tooltip = figure.querySelector(".map-tooltip");
  var context = canvas.getContext("2d");
  var data = null, grid = null, GRID = 64;
  // The view: screen = centre + (point - focus) * zoom * base.
  var view = { x: 0, y: 0, zoom: 1 };
  var hovered = -1, keyboard = false, frameQueued = false;
  var pointers = new Map(), pinch = null, dragged = false, dragStart = null;
  var timings = [], pixelRatio = 0, stamps = null, pixels = null, words = null;

  // Matches the canvas's pixels to its box; resizing clears and reallocates it, so only when the box changed.
  function size() {
    var ratio = window.devicePixelRatio || 1;
    var rect = canvas.getBoundingClientRect();
    var width = Math.max(1, Math.round(rect.width * ratio)), height = Math.max(1, Math.round(rect.height * ratio));
    if (canvas.width !== width || canvas.height !== height || pixelRatio !== ratio) {
      canvas.width = width;
      canvas.height = height;
      pixelRatio = ratio;
      stamps = null;
    }
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    return rect;
  }

  // The points are written straight into a pixel buffer and put on the canvas at once: with no GPU (a phone
  // in power saving, a headless browser) the rasteriser took 100 ms a frame for 10,000 arcs or stamped images.
  function parseColour(text) {
    var probe = document.createElement("canvas").getContext("2d");
    probe.fillStyle = text;
    probe.fillRect(0, 0, 1, 1);
    var rgba = probe.getImageData(0, 0, 1, 1).data;
    return [rgba[0], rgba[1], rgba[2]];
  }

  function packed(rgb) {
    // ImageData is RGBA in memory: little-endian words read ABGR.
    return ((255 << 24) | (rgb[2] << 16) | (rgb[1] << 8) | rgb[0]) >>> 0;
  }

  function makeStamps(radius, ink) {
    var key = radius + " " + ink + " " + pixelRatio;
    if (stamps && stamps.key === key) return stamps;
    var r = Math.max(1, radius * pixelRatio), reach = Math.ceil(r), inkRgb = parseColour(ink);
    var offsets = [], rings = [];
    for (var dy = -reach; dy <= reach; dy++) {
      for (var dx = -reach; dx <= reach; dx++) {
        var distance = Math.sqrt(dx * dx + dy * dy);
        if (distance <= r) (distance > r - 1 && r >= 2 ? rings : offsets).push([dx, dy]);
      }
    }
    stamps = { key: key, reach: reach, offsets: offsets, rings: rings, fills: [], edges: [] };
    data.families.forEach(function (family) {
      var rgb = parseColour(family.colour);
      stamps.fills.push(packed(rgb));
      // The ring: the family's colour 35% of the way to the text colour, so dark dots show on a dark page.
      stamps.edges.push(packed(rgb.map(function (c, n) { return Math.round(c + (inkRgb[n] - c) * 0.35); })));
    });
    return stamps;
  }

  function drawPoints(stamp, cx, cy, k) {
    var width = canvas.width, height = canvas.height;
    if (!pixels || pixels.width !== width || pixels.height !== height) {
      pixels = context.createImageData(width, height);
      words = new Uint32Array(pixels.data.buffer);
    }
    words.fill(0);
    var reach = stamp.reach, ratio = pixelRatio;
    var fillShift = stamp.offsets.map(function (o) { return o[1] * width + o[0]; });
    var ringShift = stamp.rings.map(function (o) { return o[1] * width + o[0]; });
    for (var i = 0; i < data.x.length; i++) {
      var px = Math.round((cx + data.x[i] * k) * ratio), py = Math.round((cy + data.y[i] * k) * ratio);
      if (px < reach || py < reach || px >= width - reach || py >= height - reach) continue;
      var at = py * width + px, fill = stamp.fills[data.family[i]], edge = stamp.edges[data.family[i]], n;
      for (n = 0; n < fillShift.length; n++) words[at + fillShift[n]] = fill;
      for (n = 0; n < ringShift.length; n++) words[at + ringShift[n]] = edge;
    }
    context.putImageData(pixels, 0, 0);
  }

  function base() {
    var rect = canvas.getBoundingClientRect();
    // Data runs over [-scale, scale]: fit it with a margin for labels.
    return Math.min(rect.width, rect.height) / 2 / data.scale * 0.9;
  }

  function toScreen(i) {
    var rect = canvas.getBoundingClientRect(), k = base() * view.zoom;
    return [rect.width / 2 + (data.x[i] - view.x) * k, rect.height / 2 + (data.y[i] - view.y) * k];
  }

  function toData(sx, sy) {
    var rect = canvas.getBoundingClientRect(), k = base() * view.zoom;
    return [view.x + (sx - rect.width / 2) / k, view.y + (sy - rect.height / 2) / k];
  }

  function buildGrid() {
    grid = new Array(GRID * GRID);
    for (var c = 0; c < grid.length; c++) grid[c] = [];
    for (var i = 0; i < data.x.length; i++) grid[cellOf(data.x[i], data.y[i])].push(i);
  }

  function cellIndex(v) {
    return Math.min(GRID - 1, Math.max(0, Math.floor((v + data.scale) / (2 * data.scale) * GRID)));
  }

  function cellOf(x, y) { return cellIndex(y) * GRID + cellIndex(x); }

  // The point nearest a screen position within `radius` pixels, or -1.
  function nearest(sx, sy, radius) {
    var at = toData(sx, sy), k = base() * view.zoom, reach = radius / k;
    var best = -1, bestDistance = reach * reach;
    var x0 = cellIndex(at[0] - reach), x1 = cellIndex(at[0] + reach);
    var y0 = cellIndex(at[1] - reach), y1 = cellIndex(at[1] + reach);
    for (var cy = y0; cy <= y1; cy++) {
      for (var cx = x0; cx <= x1; cx++) {
        var cell = grid[cy * GRID + cx];
        for (var n = 0; n < cell.length; n++) {
          var i = cell[n], dx = data.x[i] - at[0], dy = data.y[i] - at[1], d = dx * dx + dy * dy;
          if (d <= bestDistance) { best = i; bestDistance = d; }
        }
      }
    }
    return best;
  }

  function draw() {
    frameQueued = false;
    var started = performance.now();
    var rect = size(), k = base() * view.zoom, w = rect.width, h = rect.height;
    var cx = w / 2 - view.x * k, cy = h / 2 - view.y * k;
    var radius = Math.max(1.5, Math.min(6, 1.2 * Math.sqrt(view.zoom) + 600 / Math.sqrt(data.x.length + 100) / 4));
    var style = getComputedStyle(canvas), ink = style.color, card = style.backgroundColor;
    var focus = style.getPropertyValue("--focus").trim() || ink;
    drawPoints(makeStamps(Math.round(radius * 2) / 2, ink), cx, cy, k);
    context.font = "600 13px system-ui, sans-serif";
    context.textAlign = "center";
    context.lineJoin = "round";
    context.lineWidth = 4;
    context.strokeStyle = card;
    context.fillStyle = ink;
    var placed = [];  // label boxes drawn so far: a label that would cover another moves, or waits for a zoom
    data.clusters.forEach(function (cluster) {
      var lx = cx + cluster.x * k, ly = cy + cluster.y * k;
      if (lx < 0 || ly < 0 || lx > w || ly > h) return;
      // Kept whole inside the canvas, however near its edge the cluster lies.
      var half = context.measureText(cluster.label).width / 2 + 4;
      lx = half * 2 > w ? w / 2 : Math.min(Math.max(lx, half), w - half);
      var y = [0, 18, -18, 36, -36].map(function (d) { return ly + d; }).find(function (candidate) {
        return candidate > 12 && candidate < h - 4 && !placed.some(function (box) {
          return Math.abs(box.x - lx) < box.half + half && Math.abs(box.y - candidate) < 17;
        });
      });
      if (y === undefined) return;
      placed.push({x: lx, y: y, half: half});
      context.strokeText(cluster.label, lx, y);
      context.fillText(cluster.label, lx, y);
    });
    if (hovered >= 0) {
      var p = toScreen(hovered);
      context.beginPath();
      context.arc(p[0], p[1], radius + 4, 0, 2 * Math.PI);
      context.lineWidth = 2;
      context.strokeStyle = focus;
      context.stroke();
    }
    if (keyboard) {
      context.strokeStyle = focus;
      context.lineWidth = 1;
      context.beginPath();
      context.moveTo(w / 2 - 8, h / 2); context.lineTo(w / 2 + 8, h / 2);
      context.moveTo(w / 2, h / 2 - 8); context.lineTo(w / 2, h / 2 + 8);
      context.stroke();
    }
    timings.push(performance.now() - started);
    if (timings.length > 600) timings.shift();
  }

  function redraw() {
    if (!frameQueued) { frameQueued = true; requestAnimationFrame(draw); }
  }

  function show(i) {
    if (i === hovered) return;
    hovered = i;
    tooltip.textContent = i >= 0 ? data.title[i] : "";
    canvas.style.cursor = i >= 0 ? "pointer" : "";
    redraw();
  }

  function open(i) {
    if (i >= 0) window.location.assign(data.item_url.replace("{slug}", encodeURIComponent(data.slug[i])));
  }

  function zoomAt(factor, sx, sy) {
    var before = toData(sx, sy);
    view.zoom = Math.min(200, Math.max(0.5, view.zoom * factor));
    var after = toData(sx, sy);
    view.x += before[0] - after[0];
    view.y += before[1] - after[1];
    redraw();
  }

  function local(event) {
    var rect = canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  function centreItem() {
    var rect = canvas.getBoundingClientRect();
    return nearest(rect.width / 2, rect.height / 2, 24);
  }

  canvas.addEventListener("pointerdown", function (event) {
    // Capture keeps a drag going outside the canvas; a synthetic pointer (tests) cannot be captured.
    try { canvas.setPointerCapture(event.pointerId); } catch (error) { /* drag still works inside */ }
    pointers.set(event.pointerId, local(event));
    dragged = false;
    dragStart = local(event);
    if (pointers.size === 2) {
      var pair = Array.from(pointers.values());
      pinch = { distance: Math.hypot(pair[0][0] - pair[1][0], pair[0][1] - pair[1][1]) };
    }
  });

  canvas.addEventListener("pointermove", function (event) {
    var at = local(event);
    if (!pointers.has(event.pointerId)) {
      if (event.pointerType === "mouse") show(nearest(at[0], at[1], 10));
      return;
    }
    var previous = pointers.get(event.pointerId);
    pointers.set(event.pointerId, at);
    if (pointers.size === 2 && pinch) {
      var pair = Array.from(pointers.values());
      var distance = Math.hypot(pair[0][0] - pair[1][0], pair[0][1] - pair[1][1]);
      if (pinch.distance > 0) zoomAt(distance / pinch.distance, (pair[0][0] + pair[1][0]) / 2, (pair[0][1] + pair[1][1]) / 2);
      pinch.distance = distance;
      dragged = true;
      return;
    }
    if (Math.hypot(at[0] - dragStart[0], at[1] - dragStart[1]) > 4) dragged = true;
    if (dragged) {
      var k = base() * view.zoom;
      view.x -= (at[0] - previous[0]) / k;
      view.y -= (at[1] - previous[1]) / k;
      redraw();
    }
  });

  function release(event) {
    var wasPinch = pointers.size === 2;
    pointers.delete(event.pointerId);
    if (pointers.size < 2) pinch = null;
    return wasPinch;
  }

  canvas.addEventListener("pointerup", function (event) {
    var wasPinch = release(event);
    if (!dragged && !wasPinch && event.type === "pointerup") {
      var at = local(event);
      var radius = event.pointerType === "mouse" ? 10 : 22;
      var i = nearest(at[0], at[1], radius);
      if (i >= 0) { show(i); open(i); }
    }
  });
  canvas.addEventListener("pointercancel", release);
  canvas.addEventListener("pointerleave", function (event) {
    if (event.pointerType === "mouse" && !keyboard) show(-1);
  });

  canvas.addEventListener("wheel", function (event) {
    event.preventDefault();
    var at = local(event);
    zoomAt(Math.exp(-event.deltaY * 0.0015), at[0], at[1]);
  }, { passive: false });

  canvas.addEventListener("keydown", function (event) {
    var k = base() * view.zoom, step = 40 / k, rect = canvas.getBoundingClientRect();
    var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      view.x += moves[event.key][0];
      view.y += moves[event.key][1];
    } else if (event.key === "+" || event.key === "=") {
      zoomAt(1.4, rect.width / 2, rect.height / 2);
    } else if (event.key === "-" || event.key === "_") {
      zoomAt(1 / 1.4, rect.width / 2, rect.height / 2);
    } else if (event.key === "Enter") {
      open(centreItem());
      return;
    } else {
      return;
    }
    event.preventDefault();
    keyboard = true;
    show(centreItem());
    redraw();
  });
  canvas.addEventListener("focus", function () { keyboard = true; show(centreItem()); redraw(); });
  canvas.addEventListener("blur", function () { keyboard = false; show(-1); redraw(); });

  figure.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var rect = canvas.getBoundingClientRect(), how = button.getAttribute("data-zoom");
      if (how === "reset") { view = { x: 0, y: 0, zoom: 1 }; redraw(); return; }
      zoomAt(how === "in" ? 1.5 : 1 / 1.5, rect.width / 2, rect.height / 2);
    });
  });
  window.addEventListener("resize", redraw);

  fetch(figure.getAttribute("data-map-src"), { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error("map data: HTTP " + response.status);
      return response.json();
    })
    .then(function (loaded) {
      if (!loaded.x.length) return;
      data = loaded;
      buildGrid();
      figure.hidden = false;
      draw();
      canvas.dataset.points = String(data.x.length);
    })
    .catch(function (error) { console.error(error); });

  // For the browser test and the frame-time measurement (docs/performance.md): screen position of an item,
  // and the time of each draw so far.
  window.afterimageMap = {
    screenPoint: function (slug) {
      var i = data ? data.slug.indexOf(slug) : -1;
      return i < 0 ? null : toScreen(i);
    },
    panBy: function (dx, dy) { var k = base() * view.zoom; view.x -= dx / k; view.y -= dy / k; redraw(); },
    zoomBy: function (factor) { var r = canvas.getBoundingClientRect(); zoomAt(factor, r.width / 2, r.height / 2); },
    frameTimes: function () { return timings.slice(); }
  };
})();
