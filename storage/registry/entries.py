"""What every entry of the alliance file shares: no unknown fields, frozen; codes and
labelled enumerations read as the file writes them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from storage.models.registry import LabelledEnum
from storage.registry.values import code_value


def _enum(enum: type[LabelledEnum]) -> BeforeValidator:
    return BeforeValidator(lambda v: enum.parse(v) if isinstance(v, str) else v)


Code = Annotated[str, BeforeValidator(code_value)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
