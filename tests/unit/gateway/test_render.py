"""Rendering frames for display: grey-scale polarity, windows, colour, viewport."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset

from gateway.dicomweb.render import PNG, RenderParams, parse_params, render
from gateway.errors import BadRequest, NotFound


def grey(photometric: str, values: list[int]) -> Dataset:
    ds = Dataset()
    ds.file_meta = Dataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds.Rows, ds.Columns = 1, len(values)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = np.array(values, dtype="<u2").tobytes()
    return ds


def pixels(data: bytes) -> list[int]:
    return list(Image.open(io.BytesIO(data)).get_flattened_data())


def test_monochrome1_is_inverted():
    values = [0, 1000, 2000]
    normal = pixels(render(grey("MONOCHROME2", values), 0, RenderParams(PNG)))
    inverted = pixels(render(grey("MONOCHROME1", values), 0, RenderParams(PNG)))
    assert normal == [0, 128, 255]
    assert inverted == [255, 128, 0]  # the darkest value shown white


def test_window_from_request_then_from_data_set():
    ds = grey("MONOCHROME2", [0, 100, 200, 300])
    ds.WindowCenter, ds.WindowWidth = 150, 201
    from_data_set = pixels(render(ds, 0, RenderParams(PNG)))
    assert from_data_set[0] == 0
    assert from_data_set[-1] == 255
    assert 0 < from_data_set[1] < from_data_set[2] < 255
    requested = pixels(render(ds, 0, RenderParams(PNG, window=(1000.0, 10.0))))
    assert requested == [0, 0, 0, 0]


def test_parameters_are_checked():
    with pytest.raises(BadRequest):
        parse_params({"window": "10"}, PNG, thumbnail=False)
    with pytest.raises(BadRequest):
        parse_params({"window": "10,20,sigmoid"}, PNG, thumbnail=False)
    with pytest.raises(BadRequest):
        parse_params({"viewport": "0,10"}, PNG, thumbnail=False)
    assert parse_params({}, PNG, thumbnail=True).viewport == (128, 128)
    with pytest.raises(NotFound):
        render(grey("MONOCHROME2", [1]), 1, RenderParams(PNG))
