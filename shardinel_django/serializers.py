"""Value serializers of the cache backend: pickle (default) and JSON, both storing integers as plain numbers.

Integers stay readable by INCRBY, so ``incr``/``decr`` are atomic on the server.
OPTIONS['SERIALIZER'] is "pickle", "json", or the dotted path of a class with ``dumps`` and ``loads``.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

PICKLE_MARK = 0x80  # every pickle of protocol 2 or newer starts with the PROTO opcode


class PickleSerializer:
    def dumps(self, value: Any) -> Any:
        if value.__class__ is int:  # not bool or IntEnum: those are pickled and come back as they were
            return value
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)

    def loads(self, data: bytes) -> Any:
        if data and data[0] == PICKLE_MARK:
            return pickle.loads(data)
        return int(data)


class JSONSerializer:
    def dumps(self, value: Any) -> Any:
        return json.dumps(value, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


BUILT_IN = {"pickle": PickleSerializer, "json": JSONSerializer}


def serializer_from_setting(value: Any, setting: str) -> Any:
    if value is None:
        return PickleSerializer()
    if isinstance(value, str) and value.lower() in BUILT_IN:
        return BUILT_IN[value.lower()]()
    if isinstance(value, str) and "." in value:
        try:
            found = import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(f"{setting}: cannot import {value!r}: {exc}") from None
        serializer = found() if isinstance(found, type) else found
        if callable(getattr(serializer, "dumps", None)) and callable(getattr(serializer, "loads", None)):
            return serializer
        raise ImproperlyConfigured(f"{setting}: {value!r} has no dumps() and loads()")
    raise ImproperlyConfigured(f"{setting}: unknown serializer {value!r}; use \"pickle\", \"json\" or the dotted path "
                               "of a class with dumps() and loads()")
