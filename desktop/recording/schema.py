"""How a recording is laid out on disk (shared by the writer and the readers).

Columns: ``time_s`` (float64 seconds) then one float64 column per channel, named after
the channel. Everything else — units, nominal sample rate, source, start time — sits in
the Arrow/Parquet schema metadata under the key ``linewatch`` as JSON, so any Parquet tool
can read the numbers and Linewatch still gets the full description back.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from desktop.core.jsonfile import loads as json_loads_limited
from desktop.core.types import ChannelSpec

TIME_COLUMN = "time_s"
META_KEY = b"linewatch"
FORMAT_VERSION = 1
JOURNAL_SUFFIX = ".journal"
#: Metadata larger than this is not a Linewatch description and is ignored.
MAX_META_BYTES = 16 << 20


def build_schema(channels: tuple[ChannelSpec, ...], meta: dict[str, Any]) -> pa.Schema:
    """Arrow schema for a recording with its description embedded."""
    fields = [pa.field(TIME_COLUMN, pa.float64())]
    fields += [pa.field(ch.name, pa.float64()) for ch in channels]
    full_meta = dict(meta)
    full_meta["format_version"] = FORMAT_VERSION
    full_meta["channels"] = [{"name": ch.name, "unit": ch.unit} for ch in channels]
    return pa.schema(fields, metadata={META_KEY: json.dumps(full_meta).encode()})


def read_meta(schema: pa.Schema) -> dict[str, Any]:
    """The Linewatch description stored in a schema, or {} for foreign Parquet files."""
    raw = (schema.metadata or {}).get(META_KEY)
    if not raw:
        return {}
    if len(raw) > MAX_META_BYTES:
        return {}  # not ours: our description is a few kilobytes even with 1000 channels
    try:
        meta = json_loads_limited(raw)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def channels_from(schema: pa.Schema, meta: dict[str, Any]) -> tuple[ChannelSpec, ...]:
    """Channel specs from the metadata, falling back to numeric column names."""
    units = {c.get("name"): c.get("unit", "") for c in meta.get("channels", [])
             if isinstance(c, dict)}
    return tuple(
        ChannelSpec(f.name, str(units.get(f.name, "")))
        for f in schema
        if f.name != TIME_COLUMN
        and (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))
    )
