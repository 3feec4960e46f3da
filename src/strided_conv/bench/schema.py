"""The results JSON's schema, written as data, and a validator for it.

A spec is a type (or tuple of types), a ``dict`` of required keys to specs, a
one-element ``list`` ``[spec]`` (every element must match), :class:`Nullable`
(``None`` or the spec), or, as a value in a ``dict``, :class:`OptionalKey` (the
key may be missing; files written before the key existed stay valid). Extra keys
are allowed, so the schema can grow without breaking old files; missing or
mistyped keys are errors.
The module docstring of :mod:`strided_conv.bench` lists the same schema in prose.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Nullable", "OptionalKey", "validate_results",
           "SchemaError"]

SCHEMA_VERSION = 1
NUM = (int, float)


@dataclass(frozen=True)
class Nullable:
    spec: Any


@dataclass(frozen=True)
class OptionalKey:
    spec: Any


class SchemaError(ValueError):
    """The results do not follow ``SCHEMA``; the message gives the path of the first error."""


TIMING = {"impl": str, "times_s": [NUM], "median_s": NUM}
CHECK = {"what": str, "max_abs_err": NUM, "rtol": NUM, "ok": bool}
GEMM = {"kind": str, "shape": Nullable(str), "dtype": str, "library": str, "m": int,
        "k": int, "n": int, "flops": int, "times_s": [NUM], "median_s": NUM, "gflops": NUM}
CONV_TIMING = TIMING | {"shape": str, "dtype": str, "pass": str, "flops": int, "gflops": NUM,
                        "ratio_to_torch": NUM, "fraction_of_gemm_peak": NUM}
MEMORY = {"shape": str, "dtype": str, "impl": str, "pass": str,
          "peak_extra_bytes": Nullable(int), "peak_repeat_bytes": Nullable(int),
          "note": Nullable(str), "col_bytes": int, "out_bytes": int}

SCHEMA: dict[str, Any] = {
    "schema_version": int,
    "command": str,
    "date_utc": str,
    "note": str,
    "duration_s": NUM,
    "config": dict,
    "machine": {"cpu_model": str, "logical_cores": int, "python": str, "numpy": str,
                "torch": str, "threadpools": [dict], "torch_num_threads": int},
    "load_average": {"before": Nullable([NUM]), "after": Nullable([NUM])},
    "implementations": {str: str},
    "conv": Nullable({"shapes": {str: dict}, "torch_kernels": {str: [str]}, "gemm": [GEMM],
                      "gemm_peak_gflops": {str: NUM},
                      "checks": [CHECK], "memory": [MEMORY], "timings": [CONV_TIMING]}),
    "downconv": Nullable({"batch": int, "seq_len": int, "hidden": int, "checks": [CHECK],
                          "timings": [TIMING | {"pass": str}]}),
    "polyphase": OptionalKey(Nullable({"shapes": {str: dict}, "checks": [CHECK],
                                       "timings": [TIMING | {"shape": str, "dtype": str,
                                                             "pass": str, "flops": int,
                                                             "gflops": NUM,
                                                             "ratio_to_torch": NUM}]})),
    "attention": Nullable({"hidden": int, "m_segments": OptionalKey(int), "k1": OptionalKey(int),
                           "channel_reduction": OptionalKey(int), "tail": OptionalKey(str),
                           "batches": {str: int}, "checks": [CHECK],
                           "timings": [TIMING | {"n": int, "batch": int,
                                                 "median_per_sequence_s": NUM}],
                           "slopes": {str: NUM}}),
}


def validate_results(results: Any, spec: Any = None, path: str = "results") -> None:
    """Raise :class:`SchemaError` naming the first path where ``results`` breaks ``spec``.

    ``spec`` defaults to ``SCHEMA``. A dict spec whose only key is a type
    (``{str: NUM}``) means "any keys of that type, every value matching".
    """
    spec = SCHEMA if spec is None else spec
    if isinstance(spec, Nullable):
        if results is not None:
            validate_results(results, spec.spec, path)
    elif isinstance(spec, dict):
        _validate_dict(results, spec, path)
    elif isinstance(spec, list):
        if not isinstance(results, list):
            raise SchemaError(f"{path}: expected a list, got {type(results).__name__}")
        for i, item in enumerate(results):
            validate_results(item, spec[0], f"{path}[{i}]")
    elif isinstance(results, bool) and spec is not bool and bool not in _as_tuple(spec):
        raise SchemaError(f"{path}: expected {spec}, got a bool")
    elif not isinstance(results, spec):
        raise SchemaError(f"{path}: expected {spec}, got {type(results).__name__} {results!r:.60}")


def _validate_dict(results: Any, spec: dict, path: str) -> None:
    if not isinstance(results, dict):
        raise SchemaError(f"{path}: expected an object, got {type(results).__name__}")
    if len(spec) == 1 and isinstance(next(iter(spec)), type):
        key_type, value_spec = next(iter(spec.items()))
        for k, v in results.items():
            validate_results(k, key_type, f"{path} key")
            validate_results(v, value_spec, f"{path}[{k!r}]")
        return
    for key, value_spec in spec.items():
        if isinstance(value_spec, OptionalKey):
            if key not in results:
                continue
            value_spec = value_spec.spec
        if key not in results:
            raise SchemaError(f"{path}: missing key {key!r}")
        validate_results(results[key], value_spec, f"{path}[{key!r}]")


def _as_tuple(spec: Any) -> tuple:
    return spec if isinstance(spec, tuple) else (spec,)
