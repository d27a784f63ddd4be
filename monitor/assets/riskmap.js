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

  // ---- compact tables: {columns, interned, rows}; interned cells index data.strings ------------

  function Table(t, strings) {
    this.rows = t.rows;
    this.length = t.rows.length;
    this.col = {};
    this.interned = {};
    this.strings = strings;
    for (var i = 0; i < t.columns.length; i++) this.col[t.columns[i]] = i;
    for (var j = 0; j < t.interned.length; j++) this.interned[t.interned[j]] = true;
  }

  Table.prototype.get = function (i, name) {
    var v = this.rows[i][this.col[name]];
    if (v === null || v === undefined) return null;
    if (!this.interned[name]) return v;
    if (Array.isArray(v)) {
      var s = this.strings;
      return v.map(function (k) { return s[k]; });
    }
    return this.strings[v];
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

  function RiskMap(map, groups, data) {
    this.map = map;
    this.groups = groups;
    this.data = data;
    this.style = data.style;
    this.facilities = new Table(data.facilities, data.strings);
    this.followups = new Table(data.followups, data.strings);
    this.markers = [];
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
    this.drawFacilities(); // asynchronous (chunked); calls this.ready() when every marker is in
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
      for (var i = 0; i < f.length; i++) {
        var lon = f.get(i, "lon"), lat = f.get(i, "lat");
        if (lon !== null && lat !== null) bounds.extend([lat, lon]);
      }
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

  RiskMap.prototype.drawFacilities = function () {
    var self = this;
    var f = this.facilities;
    var cluster = this.groups.facilities;
    var c = f.col, rows = f.rows, S = f.strings;
    var list = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var lon = r[c.lon], lat = r[c.lat];
      if (typeof lon !== "number" || typeof lat !== "number" || !isFinite(lon) || !isFinite(lat)) {
        this.counts.facilities_unlocated += 1;
        continue;
      }
      var m = L.marker([lat, lon], {
        icon: this.icon(S[r[c.kind]], S[r[c.status]], r[c.priority] === null ? null : S[r[c.priority]]),
        title: r[c.name] === null ? "" : String(r[c.name]),
        keyboard: false
      });
      m.mmIndex = i;
      this.markers[i] = m;
      list.push(m);
    }
    this.mark("markers");
    cluster.on("click", function (e) { self.openFacility(e.layer.mmIndex); });
    cluster.on("clusterclick", function (e) { self.openCluster(e.layer); });
    var done = function () {
      // chunkProgress runs just before the last chunk's clusters are put on the map
      setTimeout(function () {
        self.mark("clustered");
        self.counts.facilities = cluster.getLayers().length;
        self.ready();
      }, 0);
    };
    if (!this.map.hasLayer(cluster)) {
      cluster.addLayers(list, true);
      done();
      return;
    }
    cluster.options.chunkProgress = function (processed, total) {
      if (processed >= total) done();
    };
    cluster.addLayers(list, true);
  };

  /* A cluster: how many facilities, ringed in the colour of its most urgent follow-up, with a
     badge counting its P1 items. */
  RiskMap.prototype.clusterIcon = function (cluster) {
    var n = cluster.getChildCount();
    var children = cluster.getAllChildMarkers();
    var f = this.facilities, pcol = f.col.priority, S = f.strings;
    var byRank = [0, 0, 0];
    for (var i = 0; i < children.length; i++) {
      var p = f.rows[children[i].mmIndex][pcol];
      var rank = p === null ? undefined : own(PRIORITY_RANK, S[p]);
      if (rank !== undefined) byRank[rank] += 1;
    }
    var prio = byRank[0] ? "P1" : byRank[1] ? "P2" : byRank[2] ? "P3" : null;
    var size = n < 100 ? 30 : n < 1000 ? 36 : n < 10000 ? 42 : 48;
    var html = '<div style="border-color:' + (prio ? this.style.priorities[prio] : "#546e7a") + '"><span>' + n + "</span></div>";
    if (byRank[0]) html += '<b class="mm-badge" title="P1">' + byRank[0] + "</b>";
    return L.divIcon({ html: html, className: "mm-cluster", iconSize: [size, size] });
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
      var reasons = f.get(i, "reasons") || [];
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
    var hist = f.get(i, "history") || [];
    if (hist.length) {
      add(box, "div", "mm-h", "最近记录 Recent history");
      var table = add(box, "table", "mm-history");
      var S = this.data.strings;
      hist.forEach(function (h) {
        // [at, by, old, new, note]; by/old/new are interned
        var tr = add(table, "tr");
        add(tr, "td", "mm-at", h[0]);
        add(tr, "td", null, h[1] === null ? "" : S[h[1]]);
        add(tr, "td", null, (h[2] === null ? "—" : S[h[2]]) + " → " + (h[3] === null ? "" : S[h[3]]));
        add(tr, "td", "mm-note", h[4]);
      });
    }
    return box;
  };

  RiskMap.prototype.openFacility = function (i) {
    var m = this.markers[i];
    if (!m) return;
    L.popup({ maxWidth: 360, autoPanPadding: [20, 20] })
      .setLatLng(m.getLatLng())
      .setContent(this.facilityDetails(i))
      .openOn(this.map);
  };

  /* A click on a cluster zooms in a few levels at a time, never past the focus zoom (so the
     villages around stay in view); from there on it fans the cluster's markers out instead. */
  RiskMap.prototype.openCluster = function (c) {
    var map = this.map, zoom = map.getZoom();
    var target = Math.min(map.getBoundsZoom(c.getBounds()), zoom + 3, this.focusZoom());
    if (target > zoom) map.setView(c.getBounds().getCenter(), target);
    else c.spiderfy();
  };

  RiskMap.prototype.focusZoom = function () {
    return Math.min(this.map.getMaxZoom(), this.data.focus_zoom || 14);
  };

  /* Show facility i in its surroundings and open its popup: the map centres on it at the focus
     zoom (or closer, if already closer); if it is still inside a cluster there, the cluster fans
     out. False if it has no location on the map. */
  RiskMap.prototype.focusFacility = function (i) {
    var self = this;
    var m = this.markers[i];
    if (!m) return false;
    var cluster = this.groups.facilities;
    var map = this.map;
    map.closePopup();
    if (cluster._unspiderfy) cluster._unspiderfy(); // a fanned-out cluster from before folds back
    map.setView(m.getLatLng(), Math.max(map.getZoom(), this.focusZoom()), { animate: false });
    if (!(map.hasLayer(cluster) && cluster.hasLayer(m))) {
      this.openFacility(i);
      return true;
    }
    var parent = cluster.getVisibleParent(m);
    if (parent && parent !== m && parent.spiderfy) {
      var opened = false;
      var open = function () {
        if (opened) return;
        opened = true;
        self.openFacility(i);
      };
      cluster.once("spiderfied", open);
      parent.spiderfy();
      setTimeout(open, 400); // spiderfied does not fire for a cluster already fanned out
    } else {
      this.openFacility(i);
    }
    return true;
  };

  /* Rings around follow-ups, above the clusters, so that urgent places show even when their
     markers are clustered. Shown only while at most RING_LIMIT are in view: thousands of rings
     would cover the whole district (the cluster icons count P1 items instead). */
  RiskMap.prototype.drawFollowupRings = function () {
    var f = this.followups;
    // SVG, not canvas: a canvas covers the whole map and would take every click and hover meant
    // for the townships and warned areas underneath (only these few circles take them in SVG)
    var renderer = L.svg({ pane: "mm-followups" });
    var self = this;
    var order = [];
    for (var i = 0; i < f.length; i++) order.push(i);
    // P1 drawn last, on top
    order.sort(function (a, b) { return prioRank(f.get(b, "priority")) - prioRank(f.get(a, "priority")); });
    this.followupIndex = Object.create(null);
    var fac = this.facilities, idCol = fac.col.id;
    for (var k = 0; k < fac.length; k++) this.followupIndex[fac.rows[k][idCol]] = k;
    this.rings = L.layerGroup();
    this.ringLayers = [];
    this.ringPoints = [];
    order.forEach(function (j) {
      var lon = f.get(j, "lon"), lat = f.get(j, "lat");
      if (typeof lon !== "number" || typeof lat !== "number") return;
      var at = L.latLng(lat, lon);
      var ring = L.circleMarker(at, {
        renderer: renderer, pane: "mm-followups", radius: 13, color: own(self.style.priorities, f.get(j, "priority")) || "#000",
        weight: 3, opacity: 0.95, fill: true, fillOpacity: 0, bubblingMouseEvents: false
      });
      ring.on("click", function () { self.focusFollowup(j); });
      self.ringLayers.push(ring);
      self.ringPoints.push(at);
      self.counts.followup_markers += 1;
    });
    this.counts.followups = f.length;
    this.map.on("moveend", this.updateRings, this);
    this.updateRings();
  };

  /* Only the rings in (and just around) the view are on the map: each is an SVG element, and a
     city has tens of thousands of follow-ups. */
  RiskMap.prototype.updateRings = function () {
    var bounds = this.map.getBounds(), pts = this.ringPoints, n = 0;
    for (var i = 0; i < pts.length && n <= RING_LIMIT; i++) if (bounds.contains(pts[i])) n += 1;
    var show = n <= RING_LIMIT, group = this.groups.followups, rings = this.rings;
    if (show) {
      var near = bounds.pad(0.25);
      for (var k = 0; k < pts.length; k++) {
        var inside = near.contains(pts[k]), ring = this.ringLayers[k];
        if (inside && !rings.hasLayer(ring)) rings.addLayer(ring);
        else if (!inside && rings.hasLayer(ring)) rings.removeLayer(ring);
      }
    }
    if (show && !group.hasLayer(rings)) group.addLayer(rings);
    if (!show && group.hasLayer(rings)) group.removeLayer(rings);
    this.ringsShown = show;
    if (window.monitorMap) window.monitorMap.followup_rings_shown = show;
    if (this.ringNote) this.ringNote.style.display = show ? "none" : "";
  };

  RiskMap.prototype.focusFollowup = function (j) {
    var f = this.followups;
    var fi = this.followupIndex[f.get(j, "facility_id")];
    if (fi !== undefined && this.focusFacility(fi)) return;
    var lon = f.get(j, "lon"), lat = f.get(j, "lat");
    if (typeof lon === "number" && typeof lat === "number") {
      this.map.setView([lat, lon], Math.max(this.map.getZoom(), this.focusZoom()));
      return;
    }
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
            add(li, "span", "mm-sub", " " + [f.get(i, "township_name"), f.get(i, "kind_zh"), f.get(i, "status_zh")].filter(Boolean).join(" · ") + (self.markers[i] ? "" : " · 无坐标 no location"));
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

  /* The page's data: plain JSON, or (large maps) zlib-compressed JSON in base64, unpacked with
     the browser's own DecompressionStream. Calls back with the parsed object. */
  function readData(node, done) {
    var encoding = node.getAttribute("data-encoding");
    if (encoding === "json") {
      done(JSON.parse(node.textContent));
      return;
    }
    if (typeof DecompressionStream === "undefined") {
      throw new Error("此浏览器版本过旧，无法打开这张大地图 this browser is too old for a map this size (no DecompressionStream); use a current Chrome, Edge or Firefox");
    }
    var bin = atob(node.textContent);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    new Response(stream).text().then(function (text) { done(JSON.parse(text)); })
      .catch(function (err) { showError("地图数据无法读取 map data unreadable: " + err); console.error(err); });
  }

  var current = null;
  window.MonitorRiskMap = {
    draw: function (map, groups, dataElementId) {
      var started = Math.round(performance.now());
      try {
        readData(document.getElementById(dataElementId), function (data) {
          current = new RiskMap(map, groups, data);
          current.timings.start = started;
          current.mark("data");
          current.draw();
        });
      } catch (err) {
        showError(String(err.message || err));
        throw err;
      }
    },
    // referenced by the marker cluster's iconCreateFunction option before draw() runs
    clusterIcon: function (cluster) {
      return current ? current.clusterIcon(cluster) : new L.DivIcon({ html: "<div><span>" + cluster.getChildCount() + "</span></div>", className: "mm-cluster", iconSize: [36, 36] });
    }
  };
})();
