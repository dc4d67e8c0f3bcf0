import os
import sys

# `python -m cpualloc_cli` puts the working directory first on sys.path: a kconfiglib.py,
# kconfigfunctions.py or click/ planted there would be imported by every later import. This
# package is already found; drop that entry before anything else is imported (issue 17).
if sys.path and sys.path[0] in ("", os.curdir, os.getcwd()):
    del sys.path[0]

from cpualloc_cli.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
