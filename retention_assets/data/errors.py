"""The one error type for unusable input data: it always names the file and the problem."""

from __future__ import annotations

import os


class DataError(ValueError):
    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
