"""Distances between WGS-84 points, on the Earth's mean sphere: within a few metres of the ellipsoid's over
the hundreds of metres a patrol spans, far below a phone's GPS accuracy."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)


def distance_m(latitude_1: float, longitude_1: float, latitude_2: float, longitude_2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    phi_1, phi_2 = math.radians(latitude_1), math.radians(latitude_2)
    d_phi = phi_2 - phi_1
    d_lambda = math.radians(longitude_2 - longitude_1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi_1) * math.cos(phi_2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
