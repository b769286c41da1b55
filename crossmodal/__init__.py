"""Cross-modal remote-sensing image retrieval: sketches to aerial photos and back."""
