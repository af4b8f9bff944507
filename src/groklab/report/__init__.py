"""The report: plotly figures of a run's results and the self-contained HTML page."""
