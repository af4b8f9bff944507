"""The model file layouts users bring, one module per layout (as TransformerLens keeps one conversion
per architecture). Each module has `NAME`, `NEEDS_CONFIG` and `read(sd, path, config) -> Imported`;
a layout whose files record their own split also has `dataset(imported, config, where)`.
A new layout is one module here plus one line in READERS."""

from __future__ import annotations

from groklab.models.layouts import chughtai2023, clockpizza2023, nanda2023, transformerlens

READERS = {m.NAME: m for m in (transformerlens, nanda2023, clockpizza2023, chughtai2023)}
