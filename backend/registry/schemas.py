"""Wire shapes of the registry: regions, facilities, expert profiles (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

RegionLevel = Literal["province", "city", "county"]
# a programme's subject (backend/programme/kind_data/): a health facility, a county's programme, a school
FacilityKind = Literal[
    "township_centre", "community_centre", "village_clinic", "community_station", "county_programme", "school"
]
# "-": not a medical institution (a county's programme, a school), no licence category
LicenceCategory = Literal["B", "C", "-"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
LongName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")]
Count = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
LicenceNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
# WGS84 decimal degrees
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]


class CamelStruct(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """Admin bodies refuse unknown fields: a misspelt field must not be silently ignored."""


class RegionOut(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    name: str
    level: RegionLevel
    parent_id: UUID | None
    code: str


class CreateRegionRequest(CamelStruct):
    name: Name
    level: RegionLevel
    code: Code
    parent_id: UUID | None = None


class UpdateRegionRequest(CamelStruct):
    name: Name | None = None
    code: Code | None = None


class FacilityOut(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    name: str
    kind: FacilityKind
    licence_number: str
    licence_category: LicenceCategory
    registered_first_name: str
    region_id: UUID
    medical_staff_count: int
    service_population: int
    active: bool
    created_at: datetime
    latitude: float | None = None
    longitude: float | None = None


class CreateFacilityRequest(CamelStruct):
    name: LongName
    kind: FacilityKind
    licence_number: LicenceNumber
    licence_category: LicenceCategory
    registered_first_name: LongName
    region_id: UUID
    medical_staff_count: Count = 0
    service_population: Count = 0
    # both or neither
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class UpdateFacilityRequest(CamelStruct):
    name: LongName | None = None
    kind: FacilityKind | None = None
    licence_number: LicenceNumber | None = None
    licence_category: LicenceCategory | None = None
    registered_first_name: LongName | None = None
    region_id: UUID | None = None
    medical_staff_count: Count | None = None
    service_population: Count | None = None
    active: bool | None = None
    # both together (the site moved or was surveyed again)
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class CoordinatesImported(msgspec.Struct, rename="camel", kw_only=True):
    """Result of a CSV import of facility coordinates (all rows applied, or none)."""

    updated: int
    unchanged: int
    flags_recomputed: int
