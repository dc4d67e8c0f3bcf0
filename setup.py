"""Build hook for the optional compiled symbol path (issue 14). Everything else is in pyproject.toml.

`cpualloc_cli._csymbols` is a small C extension for the nm --size-sort order and the JSON
symbol rows. It is optional: with no C compiler (or no Python headers) the build warns and goes
on, and cpualloc uses the pure-Python code, which stays the reference the tests compare against.
`cpualloc --version` says which path is in use.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("cpualloc_cli._csymbols", ["cpualloc_cli/_csymbols.c"], optional=True)])
