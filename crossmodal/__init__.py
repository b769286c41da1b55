"""Cross-modal remote-sensing image retrieval: sketches to aerial photos and back.

``from crossmodal import load_checkpoint`` gives the model API (``embed``, ``attention_map``,
``class_probabilities``); it is imported lazily so that ``crossmodal.index`` and
``crossmodal.data`` do not pull in torch.
"""

__all__ = ["load_checkpoint"]


def __getattr__(name: str):
    if name == "load_checkpoint":
        from .checkpoint import load_checkpoint

        return load_checkpoint
    raise AttributeError(f"module 'crossmodal' has no attribute {name!r}")
