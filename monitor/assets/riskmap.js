/* The risk map's own code: draws every layer, the legend, the follow-up panel and the search from
   the JSON the page embeds (built by monitor/riskmap.py), then sets window.monitorMap.

   Rule for this file: text that people typed (facility names, notes, alert text, ...) enters the
   DOM through textContent only. innerHTML is used for this file's own SVG symbols, never data.
   Written as ES5 so that the older Chromium builds common on office PCs run it. */
(function () {
  "use strict";

  var PRIORITY_RANK = { P1: 0, P2: 1, P3: 2 };
  var WARNING_RANK = { blue: 1, yellow: 2, orange: 3, red: 4 };
  var PAGE = 200; // follow-ups listed per priority before "show more"
  var SEARCH_PAGE = 20; // search hits listed before "show more"
  var NARROW = 600; // px: below this width (a phone) the panel and legend start folded
  var RING_LIMIT = 400; // follow-up rings are drawn only while this many or fewer are in view
  var SPIDER_MAX = 200; // a cluster fanned out shows at most this many sites

  // ---- small DOM helpers -------------------------------------------------------------------

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function add(parent, tag, cls, text) {
    var e = el(tag, cls, text);
    parent.appendChild(e);
    return e;
  }

  function field(dl, label, value) {
    if (value === undefined || value === null || value === "") return;
    add(dl, "dt", null, label);
    add(dl, "dd", null, value);
  }

  function swatch(parent, colour, cls) {
    var s = add(parent, "span", "mm-swatch" + (cls ? " " + cls : ""));
    s.style.backgroundColor = colour;
    return s;
  }

  /* obj[key] if obj has it as its own property, else undefined */
  function own(obj, key) {
    return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
  }

  function prioRank(p) {
    var r = own(PRIORITY_RANK, p);
    return r === undefined ? 9 : r;
  }

  function narrow() {
    return window.innerWidth < NARROW;
  }

  function stopMapEvents(node) {
    L.DomEvent.disableClickPropagation(node);
    L.DomEvent.disableScrollPropagation(node);
  }

  // ---- the sites and follow-ups: typed arrays from the page's packs (monitor/riskmap.py) ------

  var PRIOS = ["P1", "P2", "P3"];

  /* A pack's value `name` at row i: coded (codes into a list of values), a plain list, or an
     array of numbers; null where there is none. */
  function packValue(pack, name, i) {
    var via = pack.head.via && Object.prototype.hasOwnProperty.call(pack.head.via, name) ? pack.head.via[name] : name;
    var codes = pack.arrays[via], list = pack.lists[name];
    if (codes && list) {
      var c = codes[i];
      return c < 0 || c === undefined ? null : list[c];
    }
    if (list) {
      var v = list[i];
      return v === undefined ? null : v;
    }
    return codes ? codes[i] : null;
  }

  function Sites(pack, names) {
    this.pack = pack;
    this.a = pack.arrays;
    this.length = pack.head.n;
    this.origin = pack.head.origin;
    this.scale = pack.head.scale;
    this.none = pack.head.none;
    this.names = names.lists.name;
    this.detail = null; // the detail pack, once unpacked
  }

  Sites.prototype.located = function (i) {
    return this.a.lon[i] !== this.none && this.a.lat[i] !== this.none;
  };

  Sites.prototype.latLng = function (i) {
    return L.latLng(this.origin[1] + this.a.lat[i] / this.scale, this.origin[0] + this.a.lon[i] / this.scale);
  };

  Sites.prototype.get = function (i, name) {
    var a = this.a;
    if (name === "id") return a.id[i];
    if (name === "lon") return a.lon[i] === this.none ? null : this.origin[0] + a.lon[i] / this.scale;
    if (name === "lat") return a.lat[i] === this.none ? null : this.origin[1] + a.lat[i] / this.scale;
    if (name === "name") { var n = this.names[i]; return n === undefined ? null : n; }
    if (name === "priority") { var p = a.priority[i]; return p < 0 ? null : PRIOS[p]; }
    if (this.pack.lists[name]) return packValue(this.pack, name, i);
    var d = this.detail;
    if (!d) return null;
    if (name === "households") { var h = d.arrays.households[i]; return h < 0 ? null : h; }
    return packValue(d, name, i);
  };

  /* The history entries of site i (newest first), once the detail pack is unpacked:
     [{at, by, old, new, note}]. */
  Sites.prototype.history = function (i) {
    var d = this.detail, out = [];
    if (!d) return out;
    var hs = d.arrays.h_site, lo = 0, hi = hs.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (hs[mid] < i) lo = mid + 1; else hi = mid; }
    for (var k = lo; k < hs.length && hs[k] === i; k++) {
      out.push({ at: packValue(d, "h_at", k), by: packValue(d, "h_by", k), old: packValue(d, "h_old", k),
        "new": packValue(d, "h_new", k), note: packValue(d, "h_note", k) });
    }
    return out;
  };

  function Followups(pack, sites) {
    this.pack = pack;
    this.a = pack.arrays;
    this.length = pack.head.followups;
    this.sites = sites;
  }

  Followups.prototype.site = function (j) {
    return this.a.fu_site[j];
  };

  Followups.prototype.get = function (j, name) {
    var s = this.a.fu_site[j];
    if (name === "facility_id") return s < 0 ? null : this.sites.get(s, "id");
    if (name === "priority") { var p = this.a.fu_priority[j]; return p < 0 ? null : PRIOS[p]; }
    if (name === "lon" || name === "lat") return s < 0 ? null : this.sites.get(s, name);
    var v = packValue(this.pack, "fu_" + name, j);
    if (v === null && name === "name" && s >= 0) return this.sites.get(s, "name");
    return v;
  };

  /* The follow-ups of each site: rows[start[i] .. start[i + 1]) (built the first time). */
  Followups.prototype.bySite = function () {
    if (this.index) return this.index;
    var n = this.sites.length, fs = this.a.fu_site, start = new Int32Array(n + 1);
    for (var j = 0; j < fs.length; j++) if (fs[j] >= 0) start[fs[j] + 1] += 1;
    for (var i = 0; i < n; i++) start[i + 1] += start[i];
    var rows = new Int32Array(start[n]), fill = start.slice(0, n);
    for (var k = 0; k < fs.length; k++) if (fs[k] >= 0) rows[fill[fs[k]]++] = k;
    this.index = { start: start, rows: rows };
    return this.index;
  };

  // ---- symbols -----------------------------------------------------------------------------

  function shapeSvg(shape, fill, ring) {
    var body;
    var stroke = 'stroke="#ffffff" stroke-width="1.5"';
    if (shape === "triangle") body = '<polygon points="11,3.5 18.5,17 3.5,17" fill="' + fill + '" ' + stroke + "/>";
    else if (shape === "square") body = '<rect x="5" y="5" width="12" height="12" fill="' + fill + '" ' + stroke + "/>";
    else if (shape === "diamond") body = '<polygon points="11,3 19,11 11,19 3,11" fill="' + fill + '" ' + stroke + "/>";
    else body = '<circle cx="11" cy="11" r="6.5" fill="' + fill + '" ' + stroke + "/>";
    var halo = ring ? '<circle cx="11" cy="11" r="9.5" fill="none" stroke="' + ring + '" stroke-width="3"/>' : "";
    return '<svg xmlns="http://www.w3.org/2000/svg" width="22" height="22" viewBox="0 0 22 22">' + halo + body + "</svg>";
  }

  // ---- the drawing -------------------------------------------------------------------------

  function RiskMap(map, groups, data, sites, names, nodes) {
    this.map = map;
    this.groups = groups;
    this.data = data;
    this.style = data.style;
    this.nodes = nodes;
    this.facilities = new Sites(sites, names);
    this.followups = new Followups(sites, this.facilities);
    this.siteMarkers = Object.create(null);
    this.cellMarkers = Object.create(null);
    // keyed by data (names, ids): no prototype, so a name like "__proto__" is just a name
    this.townshipLayers = Object.create(null);
    this.icons = Object.create(null);
    this.timings = {};
    this.counts = {
      townships: 0, alerts: 0, alerts_unplaced: 0, facilities: 0, facilities_unlocated: 0,
      followups: 0, followup_markers: 0
    };
  }

  RiskMap.prototype.mark = function (name) {
    this.timings[name] = Math.round(performance.now());
  };

  RiskMap.prototype.draw = function () {
    var map = this.map;
    // a popup pans clear of the follow-up panel (top right) on a desktop
    if (!narrow()) L.Popup.mergeOptions({ autoPanPaddingTopRight: L.point(340, 20) });
    map.createPane("mm-townships").style.zIndex = 410;
    map.createPane("mm-alerts").style.zIndex = 420;
    map.createPane("mm-labels").style.zIndex = 620; // above the markers (it takes no clicks)
    map.createPane("mm-followups").style.zIndex = 450;
    this.map.getPane("mm-labels").style.pointerEvents = "none";
    if (this.data.stale) this.drawStaleBanner();
    this.drawTownships();
    this.drawAlerts();
    this.fitView();
    this.drawFollowupRings();
    this.addInfo();
    this.addPanel();
    this.addLegend();
    this.mark("panels");
    this.watchPhone();
    this.watchPrint();
    this.drawFacilities(); // clusters what is in view, then calls this.ready()
  };

  /* On a phone the boxes would cover the map: the panel and legend start folded, and fold
     again when a popup opens, so that the popup is never under them. */
  RiskMap.prototype.watchPhone = function () {
    var self = this;
    var layers = document.querySelector(".leaflet-control-layers");
    if (layers) {
      var toggle = layers.querySelector(".leaflet-control-layers-toggle");
      if (narrow()) L.DomUtil.removeClass(layers, "leaflet-control-layers-expanded");
      if (toggle) {
        L.DomEvent.on(toggle, "click", function (e) {
          L.DomEvent.preventDefault(e);
          if (L.DomUtil.hasClass(layers, "leaflet-control-layers-expanded")) L.DomUtil.removeClass(layers, "leaflet-control-layers-expanded");
          else L.DomUtil.addClass(layers, "leaflet-control-layers-expanded");
        });
      }
      this.layersBox = layers;
    }
    this.map.on("popupopen", function () {
      if (!narrow()) return;
      self.foldPanel(true);
      if (self.legendDetails) self.legendDetails.open = false;
      if (self.layersBox) L.DomUtil.removeClass(self.layersBox, "leaflet-control-layers-expanded");
    });
  };

  /* Printed, the map fills the page and the panel is hidden (riskmap.css @media print); the
     map is fitted again to the page's size, and back to the window's afterwards. */
  RiskMap.prototype.watchPrint = function () {
    var self = this;
    function refit() {
      self.map.invalidateSize({ animate: false, pan: false });
      self.fitView();
    }
    window.addEventListener("beforeprint", refit);
    window.addEventListener("afterprint", refit);
    if (window.matchMedia) {
      var mq = window.matchMedia("print");
      var onChange = function (e) { if (e.matches) refit(); };
      if (mq.addEventListener) mq.addEventListener("change", onChange);
      else if (mq.addListener) mq.addListener(onChange);
    }
  };

  RiskMap.prototype.fitView = function () {
    var bounds = L.latLngBounds([]);
    for (var name in this.townshipLayers) bounds.extend(this.townshipLayers[name].getBounds());
    if (!bounds.isValid()) {
      var f = this.facilities;
      for (var i = 0; i < f.length; i++) if (f.located(i)) bounds.extend(f.latLng(i));
    }
    if (bounds.isValid()) this.map.fitBounds(bounds, { padding: [10, 10], animate: false });
  };

  RiskMap.prototype.drawStaleBanner = function () {
    var d = this.data;
    var b = el("div", "mm-stale-banner");
    b.id = "mm-stale";
    b.setAttribute("role", "alert");
    add(b, "strong", null, "数据已过期 STALE: ");
    add(b, "span", null, d.stale_reason || "预警数据未及时刷新 alert data not refreshed in time");
    add(b, "span", "mm-stale-time",
      " · 最近成功刷新 last successful refresh: " + (d.last_refresh || "从未 never"));
    document.body.appendChild(b);
    document.body.className += " mm-is-stale";
  };

  RiskMap.prototype.drawTownships = function () {
    var group = this.groups.townships;
    var self = this;
    this.data.townships.forEach(function (t) {
      var layer;
      try {
        layer = L.geoJSON(t.geometry, {
          pane: "mm-townships",
          style: {
            color: "#37474f", weight: t.approximate ? 1.5 : 1.2,
            dashArray: t.approximate ? "6 4" : null,
            fillColor: t.colour, fillOpacity: 0.55
          }
        });
      } catch (err) {
        console.warn("township geometry not drawn", t.name, err);
        return;
      }
      if (!layer.getLayers().length) return;
      layer.bindTooltip(function () { return self.townshipSummary(t, false); }, { sticky: true });
      layer.bindPopup(function () { return self.townshipSummary(t, true); }, { maxWidth: 360, autoPanPadding: [12, 12] });
      layer.addTo(group);
      self.townshipLayers[t.name] = layer;
      self.counts.townships += 1;
      self.drawTownshipLabel(t, layer, group);
    });
  };

  /* The township's name and risk score, drawn on the map (not clickable: clicks reach the
     township underneath). */
  RiskMap.prototype.drawTownshipLabel = function (t, layer, group) {
    var at = t.label_at ? L.latLng(t.label_at[1], t.label_at[0]) : layer.getBounds().getCenter();
    var box = el("div", "mm-tlabel-text");
    add(box, "span", "mm-tlabel-name", t.name);
    add(box, "span", "mm-tlabel-score", String(t.score || 0));
    box.setAttribute("data-township", t.name);
    L.marker(at, {
      icon: L.divIcon({ className: "mm-tlabel", html: box, iconSize: [0, 0] }),
      pane: "mm-labels", interactive: false, keyboard: false
    }).addTo(group);
    this.counts.township_labels = (this.counts.township_labels || 0) + 1;
  };

  RiskMap.prototype.townshipSummary = function (t, full) {
    var box = el("div", "mm-township");
    add(box, "div", "mm-title", t.name + (t.name_en ? " " + t.name_en : ""));
    if (t.approximate) add(box, "div", "mm-approx", "(近似边界 approximate boundary)");
    var dl = add(box, "dl", "mm-fields");
    field(dl, "风险分 Risk score", t.score);
    var c = t.counts || {};
    field(dl, "待跟进 Follow-ups", "P1 " + (c.P1 || 0) + " · P2 " + (c.P2 || 0) + " · P3 " + (c.P3 || 0));
    if (full) {
      field(dl, "类型 Kind", t.kind);
      field(dl, "代码 Code", t.code);
      field(dl, "边界来源 Boundary source", t.source);
    }
    var warned = this.data.alerts.filter(function (a) { return (a.township_names || []).indexOf(t.name) !== -1; });
    if (warned.length) {
      add(box, "div", "mm-h", "生效预警 Warnings in force (" + warned.length + ")");
      var ul = add(box, "ul", "mm-list mm-town-warnings");
      warned.forEach(function (a) {
        var li = add(ul, "li");
        swatch(li, a.colour_hex, "mm-warning");
        li.appendChild(document.createTextNode(" " + (a.headline || a.hazard_zh || a.hazard || "")));
        if (full) {
          var d = add(li, "div", "mm-sub", [a.onset ? "生效 " + a.onset : null, a.expires ? "失效 " + a.expires : null].filter(Boolean).join(" · "));
          d.setAttribute("data-alert", a.id);
        }
      });
      if (full) add(box, "div", "mm-sub", "点击预警区域边线查看全文 click the warned area's outline for the full text");
    }
    return box;
  };

  RiskMap.prototype.drawAlerts = function () {
    var self = this;
    var group = this.groups.alerts;
    var alerts = this.data.alerts.slice().sort(function (a, b) {
      return (own(WARNING_RANK, a.colour) || 0) - (own(WARNING_RANK, b.colour) || 0);
    });
    this.unplacedAlerts = [];
    alerts.forEach(function (a) {
      var layer = null;
      // hatched, not filled: the township colours underneath still match the legend; only the
      // outline takes clicks (a district-wide warning would otherwise hide every township)
      var style = { pane: "mm-alerts", interactive: false, style: {
        color: a.colour_hex, weight: 3, opacity: 0.95, fillColor: "url(#" + self.hatch(a.colour_hex) + ")",
        fillOpacity: 1, className: "mm-warned"
      } };
      try {
        if (a.geometry) {
          layer = L.geoJSON(a.geometry, style);
        } else {
          var geoms = (a.township_names || []).map(function (n) {
            var t = self.townshipLayers[n];
            return t ? t.toGeoJSON() : null;
          }).filter(Boolean);
          if (geoms.length) layer = L.geoJSON({ type: "FeatureCollection", features: [].concat.apply([], geoms.map(function (g) { return g.features; })) }, style);
        }
      } catch (err) {
        console.warn("warned area not drawn", a.id, err);
        layer = null;
      }
      if (!layer || !layer.getLayers().length) {
        self.unplacedAlerts.push(a);
        self.counts.alerts_unplaced += 1;
        return;
      }
      // the clickable band along the outline: wide, invisible
      var hit = L.geoJSON(layer.toGeoJSON(), { pane: "mm-alerts", style: {
        color: "#000", opacity: 0, weight: 14, fill: false, className: "mm-warned-hit"
      } });
      hit.bindTooltip(function () { return el("div", "mm-title", (a.colour_label ? a.colour_label + " " : "") + (a.headline || a.hazard_zh || a.hazard)); }, { sticky: true });
      hit.bindPopup(function () { return self.alertDetails(a); }, { maxWidth: 360, autoPanPadding: [12, 12] });
      layer.addTo(group);
      hit.addTo(group);
      self.counts.alerts += 1;
    });
  };

  /* The id of an SVG hatch pattern in `colour` (made once per colour, in a hidden <svg>). */
  RiskMap.prototype.hatch = function (colour) {
    this.hatches = this.hatches || Object.create(null);
    if (this.hatches[colour]) return this.hatches[colour];
    var ns = "http://www.w3.org/2000/svg";
    if (!this.hatchDefs) {
      var svg = document.createElementNS(ns, "svg");
      svg.setAttribute("width", "0");
      svg.setAttribute("height", "0");
      svg.setAttribute("aria-hidden", "true");
      svg.style.position = "absolute";
      this.hatchDefs = document.createElementNS(ns, "defs");
      svg.appendChild(this.hatchDefs);
      document.body.appendChild(svg);
    }
    var id = "mm-hatch-" + Object.keys(this.hatches).length;
    var pattern = document.createElementNS(ns, "pattern");
    pattern.setAttribute("id", id);
    pattern.setAttribute("patternUnits", "userSpaceOnUse");
    pattern.setAttribute("width", "10");
    pattern.setAttribute("height", "10");
    pattern.setAttribute("patternTransform", "rotate(45)");
    var line = document.createElementNS(ns, "line");
    line.setAttribute("x1", "0");
    line.setAttribute("y1", "0");
    line.setAttribute("x2", "0");
    line.setAttribute("y2", "10");
    line.setAttribute("stroke", colour);
    line.setAttribute("stroke-width", "2");
    line.setAttribute("stroke-opacity", "0.7");
    pattern.appendChild(line);
    this.hatchDefs.appendChild(pattern);
    this.hatches[colour] = id;
    return id;
  };

  RiskMap.prototype.alertDetails = function (a) {
    var box = el("div", "mm-alert");
    var head = add(box, "div", "mm-title");
    swatch(head, a.colour_hex);
    head.appendChild(document.createTextNode(" " + (a.headline || a.hazard_zh || a.hazard || "")));
    var dl = add(box, "dl", "mm-fields");
    field(dl, "预警 Warning", [a.hazard_zh, a.hazard, a.colour_label].filter(Boolean).join(" · "));
    field(dl, "发布 Sender", a.sender);
    field(dl, "生效 Onset", a.onset);
    field(dl, "失效 Expires", a.expires);
    field(dl, "乡镇 Townships", (a.township_names || []).join("、"));
    if (!a.geometry) add(box, "div", "mm-note", "区域按乡镇代码绘制 area drawn from township codes");
    if (a.description) add(box, "div", "mm-text", a.description);
    return box;
  };

  RiskMap.prototype.icon = function (kind, status, priority) {
    var key = kind + "|" + status + "|" + priority;
    var icon = this.icons[key];
    if (!icon) {
      var s = this.style;
      icon = L.divIcon({
        className: "mm-fac",
        html: shapeSvg(own(s.kinds, kind) || s.other_kind, own(s.status, status) || s.other_status, own(s.priorities, priority) || null),
        iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -8]
      });
      this.icons[key] = icon;
    }
    return icon;
  };

  /* Each site's place in the Web Mercator world square (0..1), computed once: a view's pixels
     are these times 256 * 2^zoom. */
  RiskMap.prototype.prepareSites = function () {
    var f = this.facilities, n = f.length;
    var wx = new Float64Array(n), wy = new Float64Array(n);
    var a = f.a, none = f.none, lon0 = f.origin[0], lat0 = f.origin[1], scale = f.scale;
    var D = Math.PI / 180, MAXLAT = 85.0511287798;
    var located = 0;
    for (var i = 0; i < n; i++) {
      if (a.lon[i] === none || a.lat[i] === none) { wx[i] = NaN; wy[i] = NaN; continue; }
      var lon = lon0 + a.lon[i] / scale, lat = Math.max(-MAXLAT, Math.min(MAXLAT, lat0 + a.lat[i] / scale));
      var s = Math.sin(lat * D);
      wx[i] = lon / 360 + 0.5;
      wy[i] = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
      located += 1;
    }
    this.wx = wx;
    this.wy = wy;
    this.counts.facilities = located;
    this.counts.facilities_unlocated = n - located;
  };

  /* The sites are clustered here, on a grid of CELL pixels anchored to the world (so clusters
     stay put while the map pans), from the typed arrays, each time the view changes; only the
     clusters and single sites in view become markers (a few hundred at most, whatever the
     number of sites). */
  RiskMap.prototype.drawFacilities = function () {
    var self = this;
    var group = this.groups.facilities;
    this.prepareSites();
    this.mark("sites");
    group.on("click", function (e) {
      var l = e.layer;
      if (l.mmIndex !== undefined) self.openFacility(l.mmIndex, l.getLatLng());
      else if (l.mmCell) self.openCluster(l);
    });
    group.on("add", function () { self.updateSites(); });
    this.map.on("moveend", function () {
      if (self.map.hasLayer(group)) self.updateSites();
      else self.updateRings();
    });
    this.updateSites();
    this.mark("clustered");
    this.ready();
  };

  RiskMap.prototype.cellSize = function (z) {
    var max = this.map.getMaxZoom();
    return z >= max ? 22 : z >= max - 1 ? 40 : 60;
  };

  /* The grid cells of the current view: for each cell with sites, how many, their pixel
     centroid and extent, the first site, P1 count and most urgent priority. */
  RiskMap.prototype.cells = function () {
    var map = this.map, z = map.getZoom(), W = 256 * Math.pow(2, z), S = this.cellSize(z);
    var pb = map.getPixelBounds();
    var x0 = pb.min.x - S, y0 = pb.min.y - S, x1 = pb.max.x + S, y1 = pb.max.y + S;
    var c0 = Math.floor(x0 / S), r0 = Math.floor(y0 / S);
    var cols = Math.floor(x1 / S) - c0 + 1, rows = Math.floor(y1 / S) - r0 + 1, nc = cols * rows;
    var count = new Int32Array(nc), first = new Int32Array(nc), p1 = new Int32Array(nc), best = new Int8Array(nc);
    var sx = new Float64Array(nc), sy = new Float64Array(nc);
    var minx = new Float64Array(nc), miny = new Float64Array(nc), maxx = new Float64Array(nc), maxy = new Float64Array(nc);
    var wx = this.wx, wy = this.wy, prio = this.facilities.a.priority, n = wx.length;
    for (var i = 0; i < n; i++) {
      var px = wx[i] * W;
      if (!(px >= x0 && px <= x1)) continue;
      var py = wy[i] * W;
      if (!(py >= y0 && py <= y1)) continue;
      var k = (Math.floor(px / S) - c0) + (Math.floor(py / S) - r0) * cols;
      var p = prio[i];
      if (count[k] === 0) {
        first[k] = i; best[k] = 9;
        minx[k] = maxx[k] = px; miny[k] = maxy[k] = py;
      } else {
        if (px < minx[k]) minx[k] = px; else if (px > maxx[k]) maxx[k] = px;
        if (py < miny[k]) miny[k] = py; else if (py > maxy[k]) maxy[k] = py;
      }
      count[k] += 1; sx[k] += px; sy[k] += py;
      if (p >= 0) { if (p < best[k]) best[k] = p; if (p === 0) p1[k] += 1; }
    }
    return { z: z, S: S, c0: c0, r0: r0, cols: cols, nc: nc, count: count, first: first, p1: p1, best: best,
      sx: sx, sy: sy, minx: minx, miny: miny, maxx: maxx, maxy: maxy };
  };

  RiskMap.prototype.updateSites = function () {
    var map = this.map, group = this.groups.facilities, f = this.facilities, S = this.style;
    if (!this.wx || !map.hasLayer(group)) return;
    var g = this.cells();
    this.grid = g;
    // a cluster fanned out stays so while the map only pans (as a popup opening moves it)
    var fanned = this.spider && this.spider.z === g.z ? this.spider.members[0] : -1;
    this.spider = null;
    this.siteMarkers = Object.create(null);
    this.cellMarkers = Object.create(null);
    var markers = [];
    for (var k = 0; k < g.nc; k++) {
      var n = g.count[k];
      if (!n) continue;
      var m;
      if (n === 1) {
        var i = g.first[k];
        var prio = f.a.priority[i];
        m = L.marker(f.latLng(i), {
          icon: this.icon(f.get(i, "kind"), f.get(i, "status"), prio < 0 ? null : PRIOS[prio]),
          title: f.get(i, "name") || "", keyboard: false
        });
        m.mmIndex = i;
        this.siteMarkers[i] = m;
      } else {
        var at = map.unproject([g.sx[k] / n, g.sy[k] / n], g.z);
        m = L.marker(at, { icon: this.clusterIcon(n, g.best[k], g.p1[k]), keyboard: false });
        m.mmCell = {
          key: k, count: n,
          bounds: L.latLngBounds(map.unproject([g.minx[k], g.miny[k]], g.z), map.unproject([g.maxx[k], g.maxy[k]], g.z))
        };
        this.cellMarkers[k] = m;
      }
      markers.push(m);
    }
    group.clearLayers();
    for (var j = 0; j < markers.length; j++) group.addLayer(markers[j]);
    if (fanned >= 0 && this.cellMarkers[this.cellOf(fanned)]) this.spiderfy(this.cellMarkers[this.cellOf(fanned)]);
    this.updateRings();
  };

  /* A cluster: how many facilities, ringed in the colour of its most urgent follow-up, with a
     badge counting its P1 items. */
  RiskMap.prototype.clusterIcon = function (n, best, p1) {
    var prio = best >= 0 && best < 3 ? PRIOS[best] : null;
    var size = n < 100 ? 30 : n < 1000 ? 36 : n < 10000 ? 42 : 48;
    var html = '<div style="border-color:' + (prio ? this.style.priorities[prio] : "#546e7a") + '"><span>' + n + "</span></div>";
    if (p1) html += '<b class="mm-badge" title="P1">' + p1 + "</b>";
    return L.divIcon({ html: html, className: "mm-cluster", iconSize: [size, size] });
  };

  /* The grid cell (of the current view) that site i falls in, or -1. */
  RiskMap.prototype.cellOf = function (i) {
    var g = this.grid;
    if (!g || isNaN(this.wx[i])) return -1;
    var W = 256 * Math.pow(2, g.z);
    var c = Math.floor(this.wx[i] * W / g.S) - g.c0, r = Math.floor(this.wy[i] * W / g.S) - g.r0;
    if (c < 0 || c >= g.cols || r < 0 || r * g.cols + c >= g.nc) return -1;
    return r * g.cols + c;
  };

  /* Fan a cluster's sites out around it (at most SPIDER_MAX), each a marker of its own. */
  RiskMap.prototype.spiderfy = function (marker) {
    var map = this.map, group = this.groups.facilities, f = this.facilities;
    var cell = marker.mmCell, members = [];
    for (var i = 0; i < this.wx.length && members.length < SPIDER_MAX; i++) {
      if (!isNaN(this.wx[i]) && this.cellOf(i) === cell.key) members.push(i);
    }
    var centre = map.latLngToLayerPoint(marker.getLatLng());
    group.removeLayer(marker);
    var legs = [], n = members.length;
    for (var j = 0; j < n; j++) {
      var angle, radius;
      if (n <= 9) { angle = 2 * Math.PI * j / n; radius = Math.max(28, 28 * n / (2 * Math.PI) * 1.2); }
      else { angle = j * 0.9 + 0.5; radius = 22 + 3.2 * j; } // a spiral
      var at = map.layerPointToLatLng(centre.add(L.point(radius * Math.cos(angle), radius * Math.sin(angle))));
      var k = members[j], prio = f.a.priority[k];
      var leg = L.polyline([marker.getLatLng(), at], { color: "#37474f", weight: 1.5, opacity: 0.6, interactive: false });
      var m = L.marker(at, { icon: this.icon(f.get(k, "kind"), f.get(k, "status"), prio < 0 ? null : PRIOS[prio]),
        title: f.get(k, "name") || "", keyboard: false });
      m.mmIndex = k;
      this.siteMarkers[k] = m;
      group.addLayer(leg);
      group.addLayer(m);
      legs.push(leg);
    }
    this.spider = { cell: cell.key, members: members, z: this.grid.z };
    return members;
  };

  RiskMap.prototype.facilityDetails = function (i) {
    var f = this.facilities;
    var box = el("div", "mm-facility");
    var head = add(box, "div", "mm-title");
    var sym = add(head, "span", "mm-sym");
    var kind = f.get(i, "kind"), status = f.get(i, "status"), prio = f.get(i, "priority");
    var s = this.style;
    sym.innerHTML = shapeSvg(own(s.kinds, kind) || s.other_kind, own(s.status, status) || s.other_status, own(s.priorities, prio) || null);
    head.appendChild(document.createTextNode(f.get(i, "name") || "(无名称 unnamed)"));
    add(box, "div", "mm-sub", [f.get(i, "kind_zh"), f.get(i, "subtype_zh")].filter(Boolean).join(" · "));
    var dl = add(box, "dl", "mm-fields");
    field(dl, "状态 Status", f.get(i, "status_zh") || status);
    if (prio) {
      var u = this.followups, ix = u.bySite(), reasons = [];
      for (var r = ix.start[i]; r < ix.start[i + 1]; r++) {
        reasons.push("[" + u.get(ix.rows[r], "priority") + "] " + u.get(ix.rows[r], "reason"));
      }
      field(dl, "待跟进 Follow-up", prio + (reasons.length ? " · " + reasons.join("；") : ""));
    }
    field(dl, "乡镇 Township", f.get(i, "township_name"));
    field(dl, "责任人 Responsible", f.get(i, "responsible"));
    field(dl, "电话 Phone", f.get(i, "phone"));
    field(dl, "户数 Households", f.get(i, "households"));
    field(dl, "期限 Due", f.get(i, "due"));
    field(dl, "最近检查 Last inspected", f.get(i, "last_inspected"));
    field(dl, "备注 Notes", f.get(i, "notes"));
    field(dl, "编号 ID", f.get(i, "id"));
    var hist = f.history(i);
    if (hist.length) {
      add(box, "div", "mm-h", "最近记录 Recent history");
      var table = add(box, "table", "mm-history");
      var names = own(this.style.status_zh, kind) || {};
      var zh = function (code) { return code === null ? null : own(names, code) || code; };
      hist.forEach(function (h) {
        var tr = add(table, "tr");
        add(tr, "td", "mm-at", h.at);
        add(tr, "td", null, h.by === null ? "" : h.by);
        add(tr, "td", null, (h.old === null ? "—" : zh(h.old)) + " → " + (h["new"] === null ? "" : zh(h["new"])));
        add(tr, "td", "mm-note", h.note);
      });
    }
    return box;
  };

  /* The detail pack (people, phones, dates, notes, history) is unpacked the first time a popup
     needs it; then `done` runs. */
  RiskMap.prototype.withDetail = function (done) {
    var self = this, f = this.facilities;
    if (f.detail) { done(); return; }
    this.detailWaiting = this.detailWaiting || [];
    this.detailWaiting.push(done);
    if (this.detailWaiting.length > 1) return;
    var started = performance.now();
    readPack(this.nodes.detail).then(function (pack) {
      f.detail = pack;
      self.timings.detail_ms = Math.round(performance.now() - started);
      if (window.monitorMap) window.monitorMap.detail_ms = self.timings.detail_ms;
      var waiting = self.detailWaiting;
      self.detailWaiting = null;
      waiting.forEach(function (fn) { fn(); });
    }).catch(function (err) { showError("地图数据无法读取 map data unreadable: " + err); console.error(err); });
  };

  RiskMap.prototype.openFacility = function (i, at) {
    var self = this;
    if (!this.facilities.located(i)) return;
    this.withDetail(function () {
      L.popup({ maxWidth: 360, autoPanPadding: [20, 20] })
        .setLatLng(at || self.facilities.latLng(i))
        .setContent(self.facilityDetails(i))
        .openOn(self.map);
    });
  };

  /* A click on a cluster zooms in a few levels at a time, never past the focus zoom (so the
     villages around stay in view); from there on it fans the cluster's sites out instead. */
  RiskMap.prototype.openCluster = function (marker) {
    var map = this.map, zoom = map.getZoom(), b = marker.mmCell.bounds;
    var target = Math.min(map.getBoundsZoom(b), zoom + 3, this.focusZoom());
    if (target > zoom) map.setView(b.getCenter(), target);
    else this.spiderfy(marker);
  };

  RiskMap.prototype.focusZoom = function () {
    return Math.min(this.map.getMaxZoom(), this.data.focus_zoom || 14);
  };

  /* Show facility i in its surroundings and open its popup: the map centres on it at the focus
     zoom (or closer, if already closer); if it is still inside a cluster there, the cluster fans
     out. False if it has no location on the map. */
  RiskMap.prototype.focusFacility = function (i) {
    var f = this.facilities;
    if (!f.located(i)) return false;
    var group = this.groups.facilities;
    var map = this.map;
    map.closePopup();
    map.setView(f.latLng(i), Math.max(map.getZoom(), this.focusZoom()), { animate: false });
    this.updateSites(); // at once, not only on moveend (the view may not have moved)
    if (!map.hasLayer(group) || this.siteMarkers[i]) {
      this.openFacility(i, this.siteMarkers[i] ? this.siteMarkers[i].getLatLng() : null);
      return true;
    }
    var cluster = this.cellMarkers[this.cellOf(i)];
    if (cluster) this.spiderfy(cluster);
    var m = this.siteMarkers[i];
    this.openFacility(i, m ? m.getLatLng() : null);
    return true;
  };

  /* Rings around sites with follow-ups, above the clusters, so that urgent places show even
     when their markers are clustered. Shown only while at most RING_LIMIT are in view:
     thousands of rings would cover the whole district (the cluster icons count P1 items
     instead). */
  RiskMap.prototype.drawFollowupRings = function () {
    var f = this.facilities, u = this.followups;
    // SVG, not canvas: a canvas covers the whole map and would take every click and hover meant
    // for the townships and warned areas underneath (only these few circles take them in SVG)
    this.ringRenderer = L.svg({ pane: "mm-followups" });
    // P3 first, P1 last (drawn on top)
    var buckets = [[], [], []], prio = f.a.priority;
    for (var i = 0; i < f.length; i++) if (prio[i] >= 0 && prio[i] < 3 && f.located(i)) buckets[prio[i]].push(i);
    this.ringSites = buckets[2].concat(buckets[1], buckets[0]);
    this.ringLayers = Object.create(null);
    this.rings = L.layerGroup();
    var placed = 0;
    for (var j = 0; j < u.length; j++) {
      var s = u.site(j);
      if (s >= 0 && f.located(s)) placed += 1;
    }
    this.counts.followup_markers = placed;
    this.counts.followups = u.length;
  };

  RiskMap.prototype.ring = function (i) {
    var self = this, ring = this.ringLayers[i];
    if (!ring) {
      ring = L.circleMarker(this.facilities.latLng(i), {
        renderer: this.ringRenderer, pane: "mm-followups", radius: 13,
        color: own(this.style.priorities, this.facilities.get(i, "priority")) || "#000",
        weight: 3, opacity: 0.95, fill: true, fillOpacity: 0, bubblingMouseEvents: false
      });
      ring.on("click", function () { self.focusFacility(i); });
      this.ringLayers[i] = ring;
    }
    return ring;
  };

  /* Only the rings in (and just around) the view are on the map: each is an SVG element, and a
     city has tens of thousands of follow-ups. */
  RiskMap.prototype.updateRings = function () {
    if (!this.ringSites) return;
    var map = this.map, sites = this.ringSites, n = 0, inView = [];
    var W = 256 * Math.pow(2, map.getZoom()), pb = map.getPixelBounds();
    var x0 = pb.min.x, x1 = pb.max.x, y0 = pb.min.y, y1 = pb.max.y;
    var dx = (x1 - x0) / 4, dy = (y1 - y0) / 4, wx = this.wx, wy = this.wy;
    for (var i = 0; i < sites.length && n <= RING_LIMIT; i++) {
      var x = wx[sites[i]] * W, y = wy[sites[i]] * W;
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) n += 1;
      if (x >= x0 - dx && x <= x1 + dx && y >= y0 - dy && y <= y1 + dy) inView.push(sites[i]);
    }
    var show = n <= RING_LIMIT, group = this.groups.followups, rings = this.rings;
    if (show) {
      var keep = Object.create(null);
      for (var k = 0; k < inView.length; k++) keep[inView[k]] = true;
      var self = this;
      rings.eachLayer(function (l) { if (!keep[l.mmSite]) rings.removeLayer(l); });
      inView.forEach(function (s) {
        var r = self.ring(s);
        r.mmSite = s;
        if (!rings.hasLayer(r)) rings.addLayer(r);
      });
    }
    if (show && !group.hasLayer(rings)) group.addLayer(rings);
    if (!show && group.hasLayer(rings)) group.removeLayer(rings);
    this.ringsShown = show;
    if (window.monitorMap) window.monitorMap.followup_rings_shown = show;
    if (this.ringNote) this.ringNote.style.display = show ? "none" : "";
  };

  RiskMap.prototype.focusFollowup = function (j) {
    var f = this.followups;
    var fi = f.site(j);
    if (fi >= 0 && this.focusFacility(fi)) return;
    var t = this.townshipLayers[f.get(j, "township")];
    if (t) this.map.fitBounds(t.getBounds(), { animate: false });
  };

  // ---- controls ----------------------------------------------------------------------------

  function control(position, build) {
    var C = L.Control.extend({
      options: { position: position },
      onAdd: function () {
        var node = build();
        stopMapEvents(node);
        return node;
      }
    });
    return new C();
  }

  RiskMap.prototype.addInfo = function () {
    var d = this.data;
    control("topleft", function () {
      var box = el("div", "mm-box mm-info");
      box.id = "mm-info";
      add(box, "div", "mm-heading", d.title);
      add(box, "div", null, "数据时间 Data as of: " + d.data_time);
      add(box, "div", d.last_refresh ? null : "mm-warn",
        "最近成功刷新 Last refresh: " + (d.last_refresh || "从未 never"));
      var ev = add(box, "div", d.evaluated ? null : "mm-warn",
        "评估时间 Evaluated at: " + (d.evaluated || "从未评估 never evaluated"));
      ev.id = "mm-evaluated";
      return box;
    }).addTo(this.map);
  };

  RiskMap.prototype.addPanel = function () {
    var self = this;
    control("topright", function () {
      var box = el("div", "mm-box mm-panel");
      box.id = "mm-panel";
      var fold = add(box, "button", "mm-fold", "");
      fold.type = "button";
      fold.id = "mm-panel-fold";
      L.DomEvent.on(fold, "click", function () { self.foldPanel(!self.panelFolded); });
      var body = add(box, "div", "mm-panel-body");
      self.panelBox = box;
      self.buildSearch(add(body, "div", "mm-search"));
      self.buildFollowupList(add(body, "div", "mm-followups"));
      if (self.unplacedAlerts.length) self.buildUnplaced(add(body, "div", "mm-unplaced"));
      self.foldButton = fold;
      self.foldPanel(narrow());
      return box;
    }).addTo(this.map);
  };

  /* Fold the panel to one button (on a phone it starts folded) or open it again. */
  RiskMap.prototype.foldPanel = function (folded) {
    if (!this.panelBox) return;
    this.panelFolded = !!folded;
    if (folded) L.DomUtil.addClass(this.panelBox, "mm-folded");
    else L.DomUtil.removeClass(this.panelBox, "mm-folded");
    this.foldButton.textContent = folded
      ? (narrow() ? "☰ 待跟进 (" + this.followups.length + ")" : "☰ 待跟进与搜索 Follow-ups & search (" + this.followups.length + ")")
      : "✕ 收起 Hide";
    this.foldButton.title = "待跟进与搜索 follow-ups and search";
    this.foldButton.setAttribute("aria-expanded", folded ? "false" : "true");
  };

  RiskMap.prototype.buildSearch = function (box) {
    var self = this;
    var f = this.facilities;
    add(box, "div", "mm-h", "搜索设施 Find a facility");
    var input = add(box, "input", "mm-search-input");
    input.id = "mm-search";
    input.type = "search";
    input.placeholder = "设施名称 facility name";
    input.setAttribute("aria-label", "搜索设施名称 search facility by name");
    var results = add(box, "ul", "mm-results");
    results.id = "mm-search-results";
    var lowered = null;
    var timer = null;
    function run() {
      var q = input.value.trim().toLowerCase();
      results.textContent = "";
      if (!q) return;
      if (!lowered) {
        lowered = new Array(f.length);
        for (var i = 0; i < f.length; i++) lowered[i] = String(f.get(i, "name") || "").toLowerCase();
      }
      var hits = [];
      for (var j = 0; j < lowered.length; j++) {
        if (lowered[j].indexOf(q) !== -1) hits.push(j);
      }
      if (!hits.length) { add(results, "li", "mm-none", "未找到 no match"); return; }
      var shown = 0, more = null;
      function page() {
        var end = Math.min(hits.length, shown + SEARCH_PAGE);
        for (; shown < end; shown++) {
          (function (i) {
            var li = el("li");
            var b = add(li, "button", "mm-link", f.get(i, "name"));
            b.type = "button";
            add(li, "span", "mm-sub", " " + [f.get(i, "township_name"), f.get(i, "kind_zh"), f.get(i, "status_zh")].filter(Boolean).join(" · ") + (f.located(i) ? "" : " · 无坐标 no location"));
            L.DomEvent.on(b, "click", function () { self.focusFacility(i); });
            results.insertBefore(li, more);
          })(hits[shown]);
        }
        if (shown < hits.length) {
          if (!more) {
            more = add(results, "li", "mm-more-hits");
            var mb = add(more, "button", "mm-more", "");
            mb.type = "button";
            L.DomEvent.on(mb, "click", page);
          }
          more.firstChild.textContent = "另有 " + (hits.length - shown) + " 项，显示更多 show " + Math.min(SEARCH_PAGE, hits.length - shown) + " more";
        } else if (more) {
          results.removeChild(more);
          more = null;
        }
      }
      page();
    }
    L.DomEvent.on(input, "input", function () { clearTimeout(timer); timer = setTimeout(run, 120); });
    L.DomEvent.on(input, "keydown", function (e) {
      if (e.key === "Enter") {
        clearTimeout(timer);
        run();
        var first = results.querySelector("button");
        if (first) first.click();
      }
    });
  };

  /* The follow-up list, filtered by township and kind (two selects above it). */
  RiskMap.prototype.buildFollowupList = function (box) {
    var self = this;
    var f = this.followups;
    var heading = add(box, "div", "mm-h", "");
    this.ringNote = add(box, "div", "mm-sub", "视图内待跟进过多，放大后显示圆圈 too many in view for rings: zoom in");
    this.ringNote.style.display = this.ringsShown ? "none" : "";
    var filters = add(box, "div", "mm-filters");
    function select(id, label, all, values) {
      var s = add(filters, "select", "mm-filter");
      s.id = id;
      s.setAttribute("aria-label", label);
      var o = add(s, "option", null, all);
      o.value = "";
      values.forEach(function (v) {
        var opt = add(s, "option", null, v[1]);
        opt.value = v[0];
      });
      return s;
    }
    var towns = Object.create(null), kinds = Object.create(null);
    for (var i = 0; i < f.length; i++) {
      var t = f.get(i, "township"), k = f.get(i, "kind");
      if (t) towns[t] = true;
      if (k) kinds[k] = true;
    }
    var kindNames = {};
    var fac = this.facilities;
    for (var n = 0; n < fac.length && Object.keys(kindNames).length < Object.keys(kinds).length; n++) {
      kindNames[fac.get(n, "kind")] = fac.get(n, "kind_zh");
    }
    var townSelect = select("mm-filter-township", "按乡镇筛选 filter by township", "全部乡镇 all townships",
      Object.keys(towns).sort(function (a, b) { return a.localeCompare(b, "zh-CN"); }).map(function (x) { return [x, x]; }));
    var kindSelect = select("mm-filter-kind", "按类别筛选 filter by kind", "全部类别 all kinds",
      Object.keys(kinds).sort().map(function (x) { return [x, (own(kindNames, x) || "") + " " + x]; }));
    var list = add(box, "div", "mm-followup-groups");
    function refresh() {
      var town = townSelect.value, kind = kindSelect.value;
      var shown = [];
      for (var j = 0; j < f.length; j++) {
        if (town && f.get(j, "township") !== town) continue;
        if (kind && f.get(j, "kind") !== kind) continue;
        shown.push(j);
      }
      heading.textContent = "待跟进 Follow-ups (" + (town || kind ? shown.length + " / " : "") + f.length + ")";
      list.textContent = "";
      self.fillFollowupGroups(list, shown);
    }
    L.DomEvent.on(townSelect, "change", refresh);
    L.DomEvent.on(kindSelect, "change", refresh);
    refresh();
  };

  RiskMap.prototype.fillFollowupGroups = function (box, indexes) {
    var self = this;
    var f = this.followups;
    var groups = Object.create(null);
    groups.P1 = [];
    groups.P2 = [];
    groups.P3 = [];
    indexes.forEach(function (i) {
      var p = String(f.get(i, "priority"));
      (groups[p] || (groups[p] = [])).push(i);
    });
    if (!indexes.length) add(box, "div", "mm-sub", "无 none");
    Object.keys(groups).sort(function (a, b) {
      return prioRank(a) - prioRank(b);
    }).forEach(function (p) {
      var items = groups[p];
      if (!items.length) return;
      var details = add(box, "details", "mm-prio");
      details.open = p === "P1" || p === "P2";
      var summary = add(details, "summary");
      swatch(summary, own(self.style.priorities, p) || "#000", "mm-ring");
      summary.appendChild(document.createTextNode(" " + p + " (" + items.length + ")"));
      var ul = add(details, "ul", "mm-list");
      ul.setAttribute("data-priority", p);
      var shown = 0;
      var more = null;
      function page() {
        var end = Math.min(items.length, shown + PAGE);
        for (; shown < end; shown++) {
          (function (j) {
            var li = el("li");
            var b = add(li, "button", "mm-link mm-followup", f.get(j, "name") || f.get(j, "township") || "");
            b.type = "button";
            add(li, "div", "mm-sub", [f.get(j, "township"), f.get(j, "reason"), f.get(j, "since") ? "自 since " + f.get(j, "since") : null].filter(Boolean).join(" · "));
            L.DomEvent.on(b, "click", function () { self.focusFollowup(j); });
            ul.appendChild(li);
          })(items[shown]);
        }
        if (more) { more.parentNode.removeChild(more); more = null; }
        if (shown < items.length) {
          more = add(details, "button", "mm-more", "显示更多 show more (" + (items.length - shown) + ")");
          more.type = "button";
          L.DomEvent.on(more, "click", page);
        }
      }
      page();
    });
  };

  RiskMap.prototype.buildUnplaced = function (box) {
    var self = this;
    add(box, "div", "mm-h", "未能在图上绘制的预警 Warnings with no area on the map (" + this.unplacedAlerts.length + ")");
    var ul = add(box, "ul", "mm-list");
    this.unplacedAlerts.forEach(function (a) {
      var li = add(ul, "li");
      swatch(li, a.colour_hex);
      li.appendChild(self.alertDetails(a));
    });
  };

  RiskMap.prototype.addLegend = function () {
    var self = this;
    var lg = this.data.legend;
    var style = this.style;
    control("bottomleft", function () {
      var box = el("div", "mm-box mm-legend");
      box.id = "mm-legend";
      var details = add(box, "details");
      details.open = !narrow();
      self.legendDetails = details;
      add(details, "summary", "mm-heading", "图例 Legend");
      function section(title, items, draw) {
        add(details, "div", "mm-h", title);
        var ul = add(details, "ul", "mm-keys");
        items.forEach(function (it) {
          var li = add(ul, "li");
          draw(li, it);
          li.appendChild(document.createTextNode(" " + it.label));
        });
      }
      section("乡镇风险分 Township risk score", lg.choropleth, function (li, it) { swatch(li, it.colour); });
      section("边界 Boundaries", lg.boundaries, function (li, it) { swatch(li, "#ffffff", it.approximate ? "mm-dashed" : "mm-solid"); });
      section("预警 Warnings (CMA)", lg.warnings, function (li, it) {
        var sw = swatch(li, "#ffffff", "mm-warning");
        sw.style.borderColor = it.colour;
        sw.style.backgroundImage = "repeating-linear-gradient(45deg, " + it.colour + " 0 2px, transparent 2px 6px)";
      });
      section("设施类型 Facility kind", lg.kinds, function (li, it) {
        add(li, "span", "mm-sym").innerHTML = shapeSvg(it.shape, "#607d8b", null);
      });
      section("状态 Status", lg.status, function (li, it) { swatch(li, it.colour); });
      section("待跟进 Follow-up priority", lg.priorities, function (li, it) {
        add(li, "span", "mm-sym").innerHTML = shapeSvg(style.other_kind, "#ffffff", it.colour);
      });
      return box;
    }).addTo(this.map);
  };

  RiskMap.prototype.ready = function () {
    var self = this;
    var c = this.counts;
    window.monitorMap = {
      ready: true,
      townships: c.townships,
      alerts: c.alerts,
      alerts_unplaced: c.alerts_unplaced,
      facilities: c.facilities,
      facilities_unlocated: c.facilities_unlocated,
      followups: c.followups,
      followup_markers: c.followup_markers,
      followup_rings_shown: !!this.ringsShown,
      township_labels: c.township_labels || 0,
      evaluated: this.data.evaluated,
      stale: !!this.data.stale,
      loaded_ms: Math.round(performance.now()),
      timings: this.timings,
      map: this.map,
      focusFacility: function (i) { return self.focusFacility(i); }
    };
    document.documentElement.setAttribute("data-monitor-ready", "1");
  };

  function showError(message) {
    var b = el("div", "mm-stale-banner mm-error", message);
    b.id = "mm-error";
    document.body.appendChild(b);
  }

  /* A pack (monitor/riskmap.py): base64, deflated when large (unpacked with the browser's own
     DecompressionStream); [u32 header length][header JSON][padding to 8][typed arrays]. A
     promise of {head, arrays: {name: TypedArray}, lists: {name: [...]}}. */
  function readPack(node) {
    return new Promise(function (resolve) {
      var encoding = node.getAttribute("data-encoding");
      if (encoding !== "base64" && typeof DecompressionStream === "undefined") {
        throw new Error("此浏览器版本过旧，无法打开这张大地图 this browser is too old for a map this size (no DecompressionStream); use a current Chrome, Edge or Firefox");
      }
      var bin = atob(node.textContent);
      var bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      if (encoding === "base64") { resolve(bytes.buffer); return; }
      var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
      resolve(new Response(stream).arrayBuffer());
    }).then(function (buf) {
      var len = new DataView(buf).getUint32(0, true);
      var head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, len)));
      var start = 4 + len;
      start += (8 - start % 8) % 8;
      var types = { i1: Int8Array, u1: Uint8Array, i2: Int16Array, i4: Int32Array, f8: Float64Array };
      var arrays = {};
      for (var name in head.arrays) {
        var p = head.arrays[name], T = types[p[0]], flags = p[3] || "", arr;
        if (flags.indexOf("s") !== -1) {
          // bytes grouped by position (riskmap.pack): put each element's bytes back together
          var size = T.BYTES_PER_ELEMENT, n = p[2], src = new Uint8Array(buf, start + p[1], n * size);
          var dst = new Uint8Array(n * size);
          for (var b = 0; b < size; b++) {
            var from = b * n;
            for (var e = 0, to = b; e < n; e++, to += size) dst[to] = src[from + e];
          }
          arr = new T(dst.buffer);
        } else {
          arr = new T(buf, start + p[1], p[2]);
        }
        if (flags.indexOf("d") !== -1) {
          // differences: sum them up again (in a 32-bit array: the values are ids and indexes)
          var sum = new Int32Array(arr.length), acc = 0;
          for (var k = 0; k < arr.length; k++) { acc += arr[k]; sum[k] = acc; }
          arr = sum;
        }
        arrays[name] = arr;
      }
      return { head: head, arrays: arrays, lists: head.lists || {} };
    });
  }

  var current = null;
  window.MonitorRiskMap = {
    /* Draw into `groups` from the data elements named `name`-data (JSON), -sites and -names
       (read now) and -detail (read when a popup first needs it). */
    draw: function (map, groups, name) {
      var started = Math.round(performance.now());
      var node = function (key) { return document.getElementById(name + "-" + key); };
      var data = JSON.parse(node("data").textContent);
      Promise.all([readPack(node("sites")), readPack(node("names"))]).then(function (packs) {
        current = new RiskMap(map, groups, data, packs[0], packs[1], { detail: node("detail") });
        current.timings.start = started;
        current.mark("data");
        current.draw();
      }).catch(function (err) {
        showError("地图数据无法读取 map data unreadable: " + String((err && err.message) || err));
        console.error(err);
      });
    }
  };
})();
