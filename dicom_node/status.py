"""DIMSE status codes we answer with (PS3.7 Annex C, PS3.4 Annex B/C)."""

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000
