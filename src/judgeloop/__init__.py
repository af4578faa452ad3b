"""judgeloop: human feedback on AI model answers, from a human vote to a better model.

Importing this package is cheap on purpose: heavy libraries (torch, datasets, pyarrow)
are imported inside the functions that need them.
"""

__version__ = "0.1.0"
