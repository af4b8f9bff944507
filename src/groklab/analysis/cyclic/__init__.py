"""The cyclic domain's science: tasks on Z_N read in Fourier terms on coordinates discovered from
the weights (coordinates, frame, probe, fourier, keyfreq, neurons, logits, embeddings, ablations,
families, diagnostics, progress), and the single-model analysis (analyze.py)."""
