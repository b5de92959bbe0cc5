from __future__ import annotations

from typing import Any

from piccolo.columns import UUID, Boolean, DoublePrecision, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Region(Table, tablename="region"):
    id = UUID(primary_key=True)
    name = Varchar(length=100)
    # province -> city -> county
    level = Varchar(length=10)
    parent: ForeignKey[Any] = ForeignKey("self", null=True, on_delete=OnDelete.restrict)
    code = Varchar(length=20, unique=True)


class Facility(Table, tablename="facility"):
    id = UUID(primary_key=True)
    name = Varchar(length=200)
    # township_centre | community_centre | village_clinic | community_station | county_programme | school
    kind = Varchar(length=30)
    licence_number = Varchar(length=60, unique=True)
    # 医疗机构执业许可证登记号分类代码: B or C; "-" for a subject that is no medical institution
    licence_category = Varchar(length=1)
    registered_first_name = Varchar(length=200)
    region = ForeignKey(Region, on_delete=OnDelete.restrict)
    medical_staff_count = Integer(default=0)
    service_population = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    # facilities are deactivated, never deleted: their inspections and evidence stay traceable
    active = Boolean(default=True)
    # WGS84 decimal degrees of the site (both or neither); evidence photos' GPS is compared with it
    latitude = DoublePrecision(null=True, default=None)
    longitude = DoublePrecision(null=True, default=None)
