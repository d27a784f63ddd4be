"""The folium side of the risk map page: an offline frame, the map's own plugin, vendored assets.

The office PC that opens the map may have no internet, and a page that loads Leaflet from a CDN
stays blank there (`L is not defined`). folium emits fixed CDN URLs (Leaflet 1.9.3,
Leaflet.markercluster 1.1.0); this module is the one place that maps each of those URLs to a copy
vendored in `monitor/assets/` (see assets/SOURCES.txt), and `inline_assets` refuses to return a
page in which any external script, stylesheet, image or font reference remains.

`OfflineMap` is a `folium.Map` that asks only for Leaflet itself: folium's default page also pulls
jQuery, Bootstrap, Font Awesome and awesome-markers from CDNs, none of which the risk map uses.
`RiskLayers` is the risk map's plugin: it inlines assets/riskmap.js and riskmap.css, holds the
place of the data element, and calls the JS that draws into the layers folium created.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources

import folium
from branca.element import MacroElement
from folium.plugins.marker_cluster import MarkerCluster
from folium.template import Template

from monitor.errors import MonitorError

LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"

# CDN URL (exactly as folium writes it) -> vendored file in monitor/assets/
VENDORED: dict[str, str] = {
    LEAFLET_JS: "leaflet-1.9.3.min.js",
    LEAFLET_CSS: "leaflet-1.9.3.css",
    dict(MarkerCluster.default_js)["markerclusterjs"]: "leaflet.markercluster-1.1.0.min.js",
    dict(MarkerCluster.default_css)["markerclustercss"]: "MarkerCluster-1.1.0.css",
    dict(MarkerCluster.default_css)["markerclusterdefaultcss"]: "MarkerCluster.Default-1.1.0.css",
}

# leaflet.css refers to its images relatively (url(images/layers.png)); inlined CSS has no base
# directory to resolve them against, so they travel as data: URIs.
_CSS_IMAGES = {
    "images/layers.png": "leaflet-images-layers.png",
    "images/layers-2x.png": "leaflet-images-layers-2x.png",
    "images/marker-icon.png": "leaflet-images-marker-icon.png",
}

_SCRIPT_TAG = re.compile(r'<script\s+src="([^"]+)"\s*>\s*</script>')
_LINK_TAG = re.compile(r'<link\s+rel="stylesheet"\s+href="([^"]+)"\s*/?>')
# anything that would make the browser fetch from another host: src=/href= attributes, CSS url()
# and @import, whether http(s):// or protocol-relative //
_EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|srcset|action|data)\s*=\s*["']?\s*|url\(\s*["']?\s*|@import\s+["']?)"""
    r"""((?:https?:)?//[^"'\s)>]*)""",
    re.IGNORECASE,
)


class OfflineMap(folium.Map):
    """A folium.Map whose page needs Leaflet and nothing else from outside."""

    default_js = [("leaflet", LEAFLET_JS)]
    default_css = [("leaflet_css", LEAFLET_CSS)]


class RiskLayers(MacroElement):
    """Draws the risk map from the page's JSON data into four folium layers.

    `data_marker` is written where the data elements go (<script> elements of non-JS types: JSON,
    and packs of typed arrays in base64); monitor.riskmap swaps it for them after the page has
    been checked, so that the data never pass through folium's templates or the check.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <link rel="icon" href="data:,">
            <style>{{ this.css }}</style>
            <script>{{ this.js }}</script>
        {% endmacro %}
        {% macro html(this, kwargs) %}
            {{ this.data_marker }}
        {% endmacro %}
        {% macro script(this, kwargs) %}
            MonitorRiskMap.draw(
                {{ this._parent.get_name() }},
                {
                    townships: {{ this.townships.get_name() }},
                    alerts: {{ this.alerts.get_name() }},
                    followups: {{ this.followups.get_name() }},
                    facilities: {{ this.facilities.get_name() }}
                },
                {{ this.get_name()|tojson }}
            );
        {% endmacro %}
        """
    )

    def __init__(self, data_marker: str, *, townships, alerts, followups, facilities):
        super().__init__()
        self._name = "RiskLayers"
        self.data_marker = data_marker
        self.js, self.css = asset_text("riskmap.js"), asset_text("riskmap.css")
        self.townships, self.alerts = townships, alerts
        self.followups, self.facilities = followups, facilities


@cache
def asset_text(name: str) -> str:
    """The text of a file in monitor/assets/, made safe to sit inside a <script> or <style> element."""
    text = resources.files("monitor").joinpath("assets", name).read_text(encoding="utf-8")
    # a source-map comment makes devtools fetch a file that is not there
    text = re.sub(r"\n?//# sourceMappingURL=\S+\s*$", "\n", text)
    if re.search(r"</(script|style)", text, re.IGNORECASE):
        raise MonitorError(f"vendored asset {name} contains a closing tag and cannot be inlined")
    if name.endswith(".css"):
        for ref, image in _CSS_IMAGES.items():
            data = resources.files("monitor").joinpath("assets", image).read_bytes()
            uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            text = text.replace(f"url({ref})", f"url({uri})")
    return text


def inline_assets(html: str) -> str:
    """Replace each known CDN tag in `html` with the vendored file inline.

    Raises MonitorError naming the URL if any external reference is left: an unknown plugin's CDN
    link must fail the build, not ship a page that is blank offline.

    >>> inline_assets('<script src="https://example.org/x.js"></script>')
    Traceback (most recent call last):
    ...
    monitor.errors.MonitorError: the map page would load https://example.org/x.js from the network; vendor it in monitor/assets/ and list it in monitor/mapassets.py
    """

    def script(m: re.Match) -> str:
        name = VENDORED.get(m.group(1))
        return f"<script>{asset_text(name)}</script>" if name else m.group(0)

    def link(m: re.Match) -> str:
        name = VENDORED.get(m.group(1))
        return f"<style>{asset_text(name)}</style>" if name else m.group(0)

    # check the page around the vendored files, not the files themselves (Leaflet's own code
    # holds links such as its attribution's href, which are never fetched)
    def known(m: re.Match) -> str:
        return "" if m.group(1) in VENDORED else m.group(0)

    check_offline(_LINK_TAG.sub(known, _SCRIPT_TAG.sub(known, html)))
    return _LINK_TAG.sub(link, _SCRIPT_TAG.sub(script, html))


def check_offline(html: str) -> None:
    """Raise MonitorError if `html` still refers to anything on another host."""
    m = _EXTERNAL.search(html)
    if m:
        raise MonitorError(
            f"the map page would load {m.group(1)} from the network; "
            "vendor it in monitor/assets/ and list it in monitor/mapassets.py"
        )
