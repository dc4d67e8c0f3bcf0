"""Pure functions over the model: sizes, extents, footprints, limits, diffs, scaling."""
