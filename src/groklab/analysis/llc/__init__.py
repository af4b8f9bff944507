"""The local learning coefficient: the SGLD estimator (estimator), llc.json over a run's
checkpoints and the calibration grid (llc_json), the devinterp cross-check (devinterp)."""
