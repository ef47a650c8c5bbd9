// The fixtures, tolerances and JSON numbers every file here uses.
@_exported import PeepholeTestSupport
