"""The one thing pyproject.toml cannot say stably: studyforge's compiled inner loops (studyforge/_speedups.c).

Optional: without a C compiler the build goes on and studyforge uses its numpy path, which writes the
same bytes (tests/test_speedups.py compares the two)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("studyforge._speedups", ["studyforge/_speedups.c"], optional=True)])
