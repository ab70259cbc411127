"""The file's GPS position against the place a picture is claimed to show.

Pure. The claimed place comes from the person checking (`postcheck check --claimed-place
LAT,LON[,KM]`): postcheck does not geocode place names (no outside service), and X and
Bluesky strip GPS from what they serve, so this is for files people send in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from postcheck.domain import Finding, MetadataFacts
from postcheck.verifiers.metadata_compare import distance_km

# A city and its outskirts. A consumer GPS fix is good to metres, so the margin is for the
# claim's own vagueness ("near Kursk"), which the person can set per check.
DEFAULT_RADIUS_KM = 50.0


@dataclass(frozen=True)
class ClaimedPlace:
    lat: float
    lon: float
    radius_km: float = DEFAULT_RADIUS_KM

    def __str__(self) -> str:
        return f"{self.lat:.5f}, {self.lon:.5f} (within {self.radius_km:g} km)"


def parse_claimed_place(text: str | None) -> ClaimedPlace | None:
    """'50.45,30.52' or '50.45,30.52,20' (radius in km). ValueError with one line if not."""
    if text is None or not text.strip():
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3):
        raise ValueError(f"claimed place {text!r}: give LAT,LON or LAT,LON,KM in decimal degrees")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"claimed place {text!r}: not numbers (LAT,LON[,KM])") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"claimed place {text!r}: not finite numbers")
    lat, lon = values[0], values[1]
    radius = values[2] if len(values) == 3 else DEFAULT_RADIUS_KM
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise ValueError(f"claimed place {text!r}: latitude -90..90, longitude -180..180")
    if not 0 < radius <= 20_000:
        raise ValueError(f"claimed place {text!r}: radius must be between 0 and 20000 km")
    return ClaimedPlace(lat, lon, radius)


def place_findings(facts: MetadataFacts, claimed: ClaimedPlace | None) -> list[Finding]:
    """A red flag when the file's GPS position is farther from the claimed place than the
    radius; a plain fact when it is within it, or when the file has no position to compare."""
    if claimed is None:
        return []
    fields = {
        "claimed_lat": claimed.lat,
        "claimed_lon": claimed.lon,
        "radius_km": claimed.radius_km,
    }
    if facts.gps_lat is None or facts.gps_lon is None:
        return [
            Finding(
                code="gps_absent_for_claimed_place",
                message=f"no GPS position in the file to compare with the claimed place {claimed}",
                fields=fields,
            )
        ]
    km = distance_km(facts.gps_lat, facts.gps_lon, claimed.lat, claimed.lon)
    fields |= {"gps_lat": facts.gps_lat, "gps_lon": facts.gps_lon, "distance_km": round(km, 1)}
    far = km > claimed.radius_km
    return [
        Finding(
            code="gps_far_from_claimed_place" if far else "gps_near_claimed_place",
            message=(
                f"the file's GPS position ({facts.gps_lat:.5f}, {facts.gps_lon:.5f}) is "
                f"{km:,.0f} km from the claimed place {claimed}"
            ),
            red_flag=far,
            fields=fields,
        )
    ]
