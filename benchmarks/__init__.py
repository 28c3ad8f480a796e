"""cnnkit's benchmark suite (run it with ``python -m benchmarks`` or ``python benchmarks/run.py``).

Not part of the installed package: it measures the package and the course.
"""
