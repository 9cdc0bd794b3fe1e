"""The CTranslate2 → openai-whisper converter on an int8 model written by CTranslate2 itself."""

from __future__ import annotations

import re
from pathlib import Path

import jiwer
import numpy as np
import pytest

from tests.conftest import need_shared
from tests.integration.asr.test_transcribe import normalise
from workers.asr.ct2_convert import _float32, convert, read_model_bin

pytest.importorskip("whisper", reason="the openai-whisper extra is not installed")
pytestmark = pytest.mark.whisper


@pytest.fixture(scope="module")
def int8_model(model_dir: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled (float16) base re-quantised to int8 by ctranslate2's own spec and writer."""
    from ctranslate2.specs import whisper_spec

    _spec, variables = read_model_bin(Path(model_dir) / "model.bin")
    spec = whisper_spec.WhisperSpec(6, 8, 6, 8)
    for name, value in variables.items():
        if value.ndim == 0:
            continue  # flags and head counts: the spec's constructor set them
        *scopes, attribute = name.split("/")
        node = spec
        for scope in scopes:
            indexed = re.fullmatch(r"(.+)_(\d+)", scope)
            if indexed and isinstance(getattr(node, indexed[1], None), list):
                node = getattr(node, indexed[1])[int(indexed[2])]
            else:
                node = getattr(node, scope)
        setattr(node, attribute, value)
    spec.register_vocabulary((Path(model_dir) / "vocabulary.txt").read_text().splitlines())
    spec.validate()
    spec.optimize(quantization="int8")
    out = tmp_path_factory.mktemp("int8") / "whisper-base-int8"
    out.mkdir()
    spec.save(str(out))
    return out


def test_int8_weights_come_back_within_half_a_quantisation_step(int8_model, model_dir):
    """
    GIVEN an int8 model written by CTranslate2 (per-row scales) from the float16 base
    WHEN its model.bin is read and de-quantised
    THEN every quantised weight is within half a step (0.5 / scale) of the float16 original
    """
    _spec, original = read_model_bin(Path(model_dir) / "model.bin")
    _spec, quantised = read_model_bin(int8_model / "model.bin")
    checked = 0
    for name, value in quantised.items():
        if value.dtype != np.int8 or f"{name}_scale" not in quantised:
            continue  # not a weight (int8 flags such as decoder/activation)
        scale = quantised[f"{name}_scale"].reshape((-1,) + (1,) * (value.ndim - 1))
        error = np.abs(_float32(quantised, name) - original[name].astype(np.float32))
        assert (error <= 0.5 / scale + 1e-6).all(), name
        checked += 1
    assert checked >= 50  # every attention, feed-forward and convolution weight


def test_converted_int8_model_loads_and_transcribes(int8_model, tmp_path):
    """
    GIVEN the int8 CTranslate2 model
    WHEN it is converted and loaded with plain ``whisper.load_model``
    THEN JFK is transcribed close to its reference (int8 costs a little accuracy, not more)
    """
    import torch
    import whisper

    speech = need_shared()
    dims = convert(int8_model, tmp_path / "int8.pt")
    assert dims["n_text_layer"] == 6
    torch.set_num_threads(2)
    model = whisper.load_model(str(tmp_path / "int8.pt"), device="cpu")
    text = model.transcribe(
        str(speech / "en/whisper.cpp/jfk.wav"), language="en", beam_size=5, fp16=False
    )["text"]
    reference = (speech / "en/whisper.cpp/jfk.reference.txt").read_text()
    assert jiwer.wer(normalise(reference), normalise(text)) <= 0.15, text
