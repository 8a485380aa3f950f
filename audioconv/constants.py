"""The vocabularies every layer shares, defined once (standard library only).

Modules import these names instead of spelling the tuples again, so adding a task kind, an input
kind or an audio extension is one edit here.
"""

from __future__ import annotations

__all__ = ["AUDIO_EXTENSIONS", "INPUT_KINDS", "MISSING", "TASKS", "UNEQUAL"]

#: what a model predicts: one sigmoid, a softmax, k sigmoids, or real values
TASKS = ("binary", "multiclass", "multilabel", "regression")

#: what a model's raw input is (the input contract's ``input_kind``)
INPUT_KINDS = ("audio", "sensor", "image")

#: how series of unequal length are made one length (data loaders, the input contract's
#: ``unequal``): zeros after the end, or linear interpolation to the longest
UNEQUAL = ("pad", "resample")

#: what missing values (NaN) in a series become (data loaders, the input contract's ``nan``):
#: an error naming the input, or zeros
MISSING = ("raise", "zero")

#: file suffixes read as audio (lower case; soundfile decodes each)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")
