"""Taking work away from the workbench: selections and verdicts exported, condition reports
(HTML, PDF) per recording. Sits above ``ml`` (it uses verdicts), ``labels`` and ``analysis``;
the batch ``predict`` over many files on Dask lives in :mod:`desktop.ml.inference.batch`."""
