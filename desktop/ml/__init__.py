"""Models: the only package that imports torch (lazily). Importing it registers the
built-in model kinds (:mod:`desktop.ml.kinds_builtin`)."""

from desktop.ml import kinds_builtin as _kinds_builtin  # noqa: F401  (registers the kinds)
