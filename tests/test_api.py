import subprocess
import sys

import groklab
from groklab.engine import analyze_model
from groklab.config import TaskConfig
from groklab.tasks import make_dataset
from handbuilt import fourier_transformer


def test_import_is_light():
    code = "import sys, groklab; print('torch' in sys.modules, 'plotly' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_public_api_resolves():
    for name in groklab.__all__:
        assert callable(getattr(groklab, name)) or hasattr(getattr(groklab, name), "__name__"), name
    assert groklab.preset("demo").task.p == 113


def test_figures_are_plotly_figures():
    import plotly.graph_objects as go

    result = analyze_model(fourier_transformer(31, (3, 7, 11)),
                           make_dataset(TaskConfig(name="add", p=31)), {"kind": "test"})
    d = result.to_dict()
    for fig in (groklab.figures.spectrum(d), groklab.figures.circles(d), groklab.figures.neurons(d),
                groklab.figures.interference(d, 4, 9)):
        assert isinstance(fig, go.Figure) and len(fig.data) > 0
    title = groklab.figures.interference(d, 4, 9).layout.title.text
    assert "c=13" in title  # the waves agree at 4 + 9
