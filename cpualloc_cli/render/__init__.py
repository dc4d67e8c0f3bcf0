"""One module per output format. Only the text renderers use rich."""
