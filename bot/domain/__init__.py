"""The pure rules of the МЦУ: no I/O, no platform, no storage, no wall clock."""
