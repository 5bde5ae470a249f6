"""Daily figures of the large clinical registers (lab orders, reading Tasks), kept so that a
year of indicators reads one row per day instead of every order of the year.

``register_day_versions`` counts the writes to each register per UTC day of the rows' order
time (bumped in the writer's transaction); ``daily_columns`` holds one local day's rows as
columns, with the sum of the versions of the UTC days it overlaps when it was built: the day
is current while that sum is."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class RegisterDayVersion(Base):
    __tablename__ = "register_day_versions"

    register: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # UTC day of the order time
    version: Mapped[int] = mapped_column(Integer)


class DailyColumns(Base):
    __tablename__ = "daily_columns"

    # The register and the layout of the columns kept (a reader that changes what it keeps
    # changes its layout name, and the copies of the old layout are no longer read).
    register: Mapped[str] = mapped_column(String(64), primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)  # the day's time zone
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # local day of the order time
    version: Mapped[int] = mapped_column(Integer)
    columns: Mapped[bytes] = mapped_column(LargeBinary)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
