"""Names for values that came from (or go to) JSON, for annotations.

A JSON value is None, bool, int, float, str, a list of JSON values or an object (str keys).
The aliases are `Any` on purpose: such values are read by key after they are validated (a
template's graph, a job's parameters, a server's object_info), and a recursive union would need
a cast at every read. They say "JSON here" where a bare `Any` would say nothing; every other
parameter in core/ and executors/ gets a real type.
"""

from __future__ import annotations

from typing import Any, TypeAlias

JsonValue: TypeAlias = Any
JsonObject: TypeAlias = dict[str, JsonValue]
