"""Adapters: the only modules that touch pyelftools, kconfiglib, codecs and TOML."""
