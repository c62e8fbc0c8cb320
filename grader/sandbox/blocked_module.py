"""Mounted over hidden packages in the sandbox (torch in the numpy-only assignments)."""

raise ImportError(
    "this package is not available for this assignment: implement it by hand with numpy"
)
