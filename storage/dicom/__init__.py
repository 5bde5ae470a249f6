"""The DICOM archive: ingest, the index, query and retrieve, metadata and transcoding.

Owns everything the DICOM node and DICOMweb share about stored instances: parsing and hashing
a received file (``parse``) and ingesting it under the durability contract (``ingest``); C-FIND
and QIDO-RS matching on the index (``query``); the study/series/instance tree for C-MOVE, C-GET
and WADO-RS (``retrieve``); precomputed DICOM JSON metadata and bulk data (``metadata``);
frames in the transfer syntax a client asks for (``transcode``); and the "study is stable" event
(``stability``).  The tables are ``storage.models.dicom``.
"""

from storage.dicom.elements import DECODE_ERRORS, int_of, uid_problem, value_of
from storage.dicom.ingest import IngestResult, Sender, ingest_file
from storage.dicom.metadata import (
    find_bulk,
    instance_document,
    instance_metadata,
    read_frame,
    read_full,
    read_header,
    series_metadata,
    serve,
)
from storage.dicom.parse import (
    PIXEL_DATA,
    InvalidInstance,
    ParsedInstance,
    parse_instance,
    sha256_of,
)
from storage.dicom.query import (
    ATTRIBUTES,
    Kind,
    Level,
    QueryError,
    StoredInstance,
    find,
    find_values,
    instances_matching,
    parse_level,
)
from storage.dicom.retrieve import (
    InstanceRef,
    SeriesRef,
    StudyTree,
    find_instances,
    find_series,
    study_tree,
)
from storage.dicom.stability import emit_stable_studies
from storage.dicom.transcode import (
    NATIVE_LITTLE_ENDIAN,
    CannotTranscode,
    decodable,
    frame_pixels,
    native_frame,
    to_explicit_little_endian,
)

__all__ = [
    "ATTRIBUTES",
    "DECODE_ERRORS",
    "NATIVE_LITTLE_ENDIAN",
    "PIXEL_DATA",
    "CannotTranscode",
    "IngestResult",
    "InstanceRef",
    "InvalidInstance",
    "Kind",
    "Level",
    "ParsedInstance",
    "QueryError",
    "Sender",
    "SeriesRef",
    "StoredInstance",
    "StudyTree",
    "decodable",
    "emit_stable_studies",
    "find",
    "find_bulk",
    "find_instances",
    "find_series",
    "find_values",
    "frame_pixels",
    "ingest_file",
    "instance_document",
    "instance_metadata",
    "instances_matching",
    "int_of",
    "native_frame",
    "parse_instance",
    "parse_level",
    "read_frame",
    "read_full",
    "read_header",
    "series_metadata",
    "serve",
    "sha256_of",
    "study_tree",
    "to_explicit_little_endian",
    "uid_problem",
    "value_of",
]
