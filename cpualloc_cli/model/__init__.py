"""Frozen data the rest of cpualloc passes around. Standard library only."""
