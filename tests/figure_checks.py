"""The one check every chapter figure gets: it draws, it has the panels it should, and each panel says what it shows.

Figure tests are smoke tests on purpose. What a figure shows is computed by a
function of the library (a table, a curve, a verdict) and tested there, so
restyling a figure (other colours, reworded titles, another drawing order)
breaks no test, while a figure that cannot be drawn does.
"""

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402


def pixels(fig: Figure) -> bytes:
    """The figure drawn to raw RGBA pixels: every artist is drawn, so a bad value fails here."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="rgba")
    return buffer.getvalue()


def _labelled(ax) -> bool:
    texts = (ax.get_title(loc="left"), ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), ax.figure.get_suptitle())
    return any(texts)


def assert_renders(fig: Figure, panels: int) -> bytes:
    """``fig`` draws, has ``panels`` axes, and every panel that shows data is labelled (its title, an axis
    label, or its figure's title). Returns the pixels, so two figures can be compared."""
    assert isinstance(fig, Figure), f"expected a matplotlib Figure, got {type(fig).__name__}"
    drawn = pixels(fig)
    assert len(fig.axes) == panels, f"{len(fig.axes)} panels, expected {panels}"
    unlabelled = [i for i, ax in enumerate(fig.axes) if ax.axison and ax.has_data() and not _labelled(ax)]
    assert not unlabelled, f"panels {unlabelled} show data but say nothing about it"
    return drawn
