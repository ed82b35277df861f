"""Real-client check: in JupyterLab, in headless Chromium, moving the temperature slider redraws the plot.

nbval runs the notebooks' code but renders no widgets; only a real front end shows whether the
ipywidgets slider, the kernel callback and the Output widget work together. Each test opens a
notebook, runs all cells from the Run menu, moves the slider described "T" with the keyboard,
and asserts that the slider's readout and the picture in the Output widget both change.
Screenshots are saved and their paths printed (pytest -s shows them).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from gesturelib.runtime import REPO_ROOT

NOTEBOOK_05 = REPO_ROOT / "notebooks" / "05_softened_softmax.ipynb"
SLIDER_DESCRIPTION = "T"
RUN_ALL_TIMEOUT_S = 180
REDRAW_TIMEOUT_S = 60
WIDGET_TIMEOUT_S = 30
POLL_S = 0.5
STOPPED_CONFIRM_S = 3

# The same widget pattern notebook 05 uses: a FloatSlider "T" and an Output widget that
# redraws a matplotlib bar chart of softmax(z / T). It keeps the harness testable on its own.
DEMO_CELL = '''\
%matplotlib inline
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

temperature = widgets.FloatSlider(value=1.0, min=0.5, max=10.0, step=0.5, description="T")
plot = widgets.Output()

def redraw(change=None):
    logits = np.array([3.0, 1.0, 0.5, -1.0])
    probabilities = np.exp(logits / temperature.value)
    probabilities /= probabilities.sum()
    with plot:
        plot.clear_output(wait=True)
        fig, ax = plt.subplots(figsize=(4, 2.5), dpi=80)
        ax.bar(range(len(probabilities)), probabilities)
        ax.set(ylim=(0, 1), xlabel="class", ylabel="probability",
               title=f"softmax(z / T), T = {temperature.value:g}")
        plt.show()

temperature.observe(redraw, names="value")
redraw()
display(widgets.VBox([temperature, plot]))
'''

# Cell prompts, error/stderr outputs and kernel state of the open notebook, in one round trip.
# (JupyterLab renders an error's traceback as stderr text.)
RUN_STATE_JS = """() => ({
    prompts: [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.innerText.trim()),
    stderr: [...document.querySelectorAll('.jp-Cell-outputArea [data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(e => e.innerText),
    kernel: document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status ?? null,
})"""

# The Output widget's markup (it holds the PNG data URL or the SVG), and whether its images
# have finished decoding.
OUTPUT_STATE_JS = """el => ({
    html: el.innerHTML,
    ready: el.querySelector('.jp-RenderedImage, .jp-RenderedSVG') !== null
        && [...el.querySelectorAll('img')].every(img => img.complete && img.naturalWidth > 0),
})"""


def _code_cells_to_run(path: Path) -> int:
    notebook = nbformat.read(path, as_version=4)
    return sum(1 for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip())


def _run_all_cells(page, expected_runs: int) -> None:
    """Run all cells from the Run menu, as a reader would, and wait until every code cell ran.

    Fails early when execution stops short (a cell raised): nothing is queued or running,
    the kernel is idle, and that stays so for STOPPED_CONFIRM_S.
    """
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    deadline = time.monotonic() + RUN_ALL_TIMEOUT_S
    stopped_since = None
    while True:
        state = page.evaluate(RUN_STATE_JS)
        ran = sum(bool(re.fullmatch(r"\[\d+\]:", prompt)) for prompt in state["prompts"])
        idle = state["kernel"] == "idle" and not any("*" in prompt for prompt in state["prompts"])
        if ran >= expected_runs and idle:
            return
        stopped_since = (stopped_since or time.monotonic()) if idle else None
        stopped = stopped_since is not None and time.monotonic() - stopped_since > STOPPED_CONFIRM_S
        if stopped or time.monotonic() > deadline:
            why = "execution stopped" if stopped else f"timed out after {RUN_ALL_TIMEOUT_S} s"
            last_stderr = state["stderr"][-1][-3000:] if state["stderr"] else "(no error output)"
            raise AssertionError(f"{ran} of {expected_runs} code cells ran ({why}; kernel {state['kernel']}); "
                                 f"prompts: {state['prompts']}\nlast stderr/error output:\n{last_stderr}")
        page.wait_for_timeout(POLL_S * 1000)


def _temperature_slider(page):
    """The slider whose description is "T" (LaTeX dollars and a trailing colon allowed)."""
    sliders = page.locator(".widget-slider")
    sliders.first.wait_for(state="visible", timeout=WIDGET_TIMEOUT_S * 1000)
    labels = [sliders.nth(i).locator(".widget-label").inner_text() for i in range(sliders.count())]
    matches = [i for i, label in enumerate(labels) if label.strip().strip("$:").strip() == SLIDER_DESCRIPTION]
    assert matches, f"no slider described {SLIDER_DESCRIPTION!r}; slider descriptions found: {labels}"
    return sliders.nth(matches[0])


def _settled_output(page, output, previous_html: str | None) -> str:
    """Wait until the Output widget shows a decoded figure that differs from `previous_html`,
    is unchanged over one poll and the kernel is idle (the callback has finished); return its markup."""
    deadline = time.monotonic() + REDRAW_TIMEOUT_S
    last_html = None
    while True:
        state = output.evaluate(OUTPUT_STATE_JS)
        kernel = page.evaluate(RUN_STATE_JS)["kernel"]
        if state["ready"] and state["html"] != previous_html and state["html"] == last_html and kernel == "idle":
            return state["html"]
        if time.monotonic() > deadline:
            what = "a figure" if previous_html is None else "a new figure"
            raise AssertionError(f"the Output widget did not show {what} within {REDRAW_TIMEOUT_S} s "
                                 f"(kernel {kernel}, figure ready {state['ready']})")
        last_html = state["html"]
        page.wait_for_timeout(POLL_S * 1000)


@contextlib.contextmanager
def _page_saved_on_failure(page, folder: Path):
    """On failure, save a screenshot of the whole page and add the page's error outputs to the report."""
    try:
        yield
    except Exception as error:
        path = folder / "failure-page.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=path, full_page=True)
            error.add_note(f"page screenshot: {path}")
            stderr = page.evaluate(RUN_STATE_JS)["stderr"]
            error.add_note("stderr/error outputs on the page:\n" + ("\n---\n".join(stderr)[-4000:] or "(none)"))
        raise


def _check_slider_redraws_plot(page, jupyter_lab, notebook_name: str, shots: Path) -> None:
    start = time.monotonic()
    page.goto(jupyter_lab.notebook_url(notebook_name))
    page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
    jupyter_lab.wait_for_kernel(notebook_name)
    _run_all_cells(page, _code_cells_to_run(jupyter_lab.root / notebook_name))

    slider = _temperature_slider(page)
    cell = page.locator(".jp-CodeCell").filter(has=slider)
    output = cell.locator(".widget-output:has(.jp-RenderedImage, .jp-RenderedSVG)").first
    output.wait_for(state="visible")
    before_html = _settled_output(page, output, previous_html=None)
    before_png = output.screenshot(path=shots / "before.png")
    handle, readout = slider.locator(".noUi-handle"), slider.locator(".widget-readout")
    before_value = readout.inner_text()

    # Keyboard on the focused handle, as a reader without a mouse would: jump to the other end.
    at_max = float(handle.get_attribute("aria-valuenow")) >= float(handle.get_attribute("aria-valuemax"))
    handle.press("Home" if at_max else "End")
    after_html = _settled_output(page, output, previous_html=before_html)
    after_png = output.screenshot(path=shots / "after.png")
    after_value = readout.inner_text()

    print(f"\n{notebook_name}: T {before_value} -> {after_value} in {time.monotonic() - start:.1f} s; "
          f"screenshots {shots / 'before.png'} {shots / 'after.png'}")
    assert after_value != before_value, f"the slider readout stayed at {before_value}"
    assert after_html != before_html, "the Output widget's figure did not change"
    assert after_png != before_png, "the Output widget looks the same after moving the slider"


def test_harness_slider_redraws_plot_in_demo_notebook(page, jupyter_lab, tmp_path):
    """The harness itself, on a minimal notebook with notebook 05's widget pattern."""
    notebook = new_notebook(
        cells=[new_markdown_cell("# Slider demo"), new_code_cell(DEMO_CELL)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(notebook, jupyter_lab.root / "slider_demo.ipynb")
    with _page_saved_on_failure(page, tmp_path):
        _check_slider_redraws_plot(page, jupyter_lab, "slider_demo.ipynb", tmp_path)


@pytest.mark.skipif(not NOTEBOOK_05.exists(), reason=f"{NOTEBOOK_05.relative_to(REPO_ROOT)} does not exist yet")
def test_temperature_slider_redraws_plot_in_notebook_05(page, jupyter_lab, tmp_path):
    # A copy, so JupyterLab never writes outputs or checkpoints into the repository.
    shutil.copy(NOTEBOOK_05, jupyter_lab.root / NOTEBOOK_05.name)
    with _page_saved_on_failure(page, tmp_path):
        _check_slider_redraws_plot(page, jupyter_lab, NOTEBOOK_05.name, tmp_path)
