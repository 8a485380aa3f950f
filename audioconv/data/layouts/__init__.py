"""Dataset layouts: manifests for public datasets read as they are distributed, one registry.

Each layout is one module of this package that registers its reader with
``@register_layout(name, description=, example=)``; every module here is imported below, so a new
file ``audioconv/data/layouts/<name>.py`` is registered without editing a list
(docs/extending.md). ``read_layout(name, root)`` reads any registered layout, ``list_layouts()``
names them, and each reader is also importable here under its name (``layouts.fsdd(root)``).

A reader returns a pandas DataFrame for :class:`audioconv.data.AudioDataset` with columns
``path``, ``label`` (or ``tags``), ``group`` (speaker / actor / source recording: keep a group
inside one split) and the dataset's own ``split`` or ``fold`` where it defines one.
Class-name lists in the order each dataset defines them are module constants
(``RAVDESS_EMOTIONS``, ...). ``common`` holds what the readers share; reading your own CSV / TSV
manifest is :func:`audioconv.data.manifest.read_manifest` (re-exported here).

>>> "fsdd" in list_layouts()
True
"""

from __future__ import annotations

import importlib
import pkgutil
import types

from audioconv.data.layouts.class_folders import class_folders
from audioconv.data.layouts.cremad import (
    CREMAD_CODES,
    CREMAD_EMOTIONS,
    cremad,
    parse_cremad_name,
)
from audioconv.data.layouts.emodb import EMODB_CODES, EMODB_EMOTIONS, emodb, parse_emodb_name
from audioconv.data.layouts.esc50 import esc50
from audioconv.data.layouts.fsdd import fsdd, parse_fsdd_name
from audioconv.data.layouts.gtzan import gtzan
from audioconv.data.layouts.mtg_jamendo import mtg_jamendo
from audioconv.data.layouts.ravdess import (
    RAVDESS_EMOTIONS,
    RAVDESS_SONG_EMOTIONS,
    parse_ravdess_name,
    ravdess,
)
from audioconv.data.layouts.registry import (
    RegisteredLayout,
    list_layouts,
    read_layout,
    register_layout,
    registered_layout,
)
from audioconv.data.layouts.speech_commands import (
    BACKGROUND,
    SILENCE,
    SPEECH_COMMANDS_12,
    SPEECH_COMMANDS_35,
    UNKNOWN,
    speech_commands,
)
from audioconv.data.layouts.tags_csv import tags_csv
from audioconv.data.layouts.tess import TESS_EMOTIONS, parse_tess_name, tess
from audioconv.data.layouts.urbansound8k import (
    URBANSOUND8K_CLASSES,
    parse_urbansound8k_name,
    urbansound8k,
)
from audioconv.data.manifest import (
    check_text_file,
    read_manifest,
    read_table,
    split_tags,
    tags_from_columns,
)

__all__ = [
    "BACKGROUND",
    "CREMAD_CODES",
    "CREMAD_EMOTIONS",
    "EMODB_CODES",
    "EMODB_EMOTIONS",
    "RAVDESS_EMOTIONS",
    "RAVDESS_SONG_EMOTIONS",
    "SILENCE",
    "SPEECH_COMMANDS_12",
    "SPEECH_COMMANDS_35",
    "TESS_EMOTIONS",
    "UNKNOWN",
    "URBANSOUND8K_CLASSES",
    "RegisteredLayout",
    "check_text_file",
    "class_folders",
    "cremad",
    "emodb",
    "esc50",
    "fsdd",
    "gtzan",
    "registered_layout",
    "list_layouts",
    "mtg_jamendo",
    "parse_cremad_name",
    "parse_emodb_name",
    "parse_fsdd_name",
    "parse_ravdess_name",
    "parse_tess_name",
    "parse_urbansound8k_name",
    "ravdess",
    "read_layout",
    "read_manifest",
    "read_table",
    "register_layout",
    "speech_commands",
    "split_tags",
    "tags_csv",
    "tags_from_columns",
    "tess",
    "urbansound8k",
]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
# Importing ``layouts/<name>.py`` binds ``layouts.<name>`` to that module; the reader it
# registered under the same name takes its place, so ``layouts.<name>`` is always the reader.
for _name in list_layouts():
    if isinstance(globals().get(_name), types.ModuleType):
        globals()[_name] = registered_layout(_name).read
