"""Alert documents to plain data: `parse_document(bytes) -> ParsedDocument` of `Alert`s.

Pure parsing, no I/O: fetching, storing and the lifecycle live elsewhere. Modules:
    model     Alert and ParsedDocument, the shared conventions (UTC ISO times, lon/lat)
    hazards   the one table from warning types and colours to our hazards
    detect    recognises a document by its content and dispatches
    cap       CAP 1.2/1.1 XML and Atom/RSS indexes (lxml, schema warnings)
    nws       api.weather.gov GeoJSON
    cma       CMA warnings in QWeather JSON, and China Weather ids / senders to division codes
    forecast  Open-Meteo forecast thresholds to synthetic alerts
Importing this package loads neither lxml nor any parser; they load with the first document.
"""

from .detect import parse_document
from .model import Alert, ParsedDocument

__all__ = ["Alert", "ParsedDocument", "parse_document"]
