"""The poster's tables beside ours, and a verdict per claim, as Markdown.

Notebook 09 shows these tables and the main job writes the same ones into the
README between ``<!-- BEGIN results:NAME -->`` / ``<!-- END results:NAME -->``
markers, so every number in the README comes from the results file that the
chapters wrote. Missing sections (a chapter not run yet) show as "n/a".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from . import stats

#: The poster's published numbers (accuracy in %, parameters in millions, sizes in MB).
POSTER = {
    "table1": {"lstm": 86.6, "cnn3d": 90.1, "joint": 93.2},
    "table2": {
        "joint": (18.37, 93.18),
        "teacher": (18.82, 90.13),
        "student_medium/labels": (4.59, 86.18),
        "student_medium/teacher": (4.59, 88.35),
        "student_small/labels": (1.15, 81.50),
        "student_small/teacher": (1.15, 86.05),
    },
    "table3": {  # params (M), fp32 MB, fp32 acc, fp16 MB, fp16 acc
        "teacher": (18.82, 72, 90.13, 36, 89.5),
        "joint": (18.37, 71, 93.18, 35.5, 93.18),
        "student_small": (1.15, 4.5, 86.05, 2.25, 85.98),
        "student_small_sparse": (0.25, 1.12, 86.05, 0.635, 85.98),
    },
    "below_2^-100": (905_000, 1_150_000),
}

MODEL_NAMES = {
    "lstm": "baseline LSTM",
    "cnn3d": "baseline / teacher 3D-CNN",
    "joint": "joint 3D-CNN + LSTM",
    "teacher": "teacher 3D-CNN",
    "student_medium/labels": "medium student, labels",
    "student_medium/teacher": "medium student, labels + teacher",
    "student_small/labels": "small student, labels",
    "student_small/teacher": "small student, labels + teacher",
    "student_small": "small student (distilled)",
    "student_small_sparse": "sparse small student",
}


def _num(value: Any, fmt: str = "{:.1f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def _params(n: Any) -> str:
    return "n/a" if n is None else f"{n / 1e6:.2f} M" if n >= 1e5 else f"{n / 1e3:.1f} k"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _mean_std(row: dict | None) -> str:
    if not row or row.get("mean") is None:
        return "n/a"
    spread = f" ± {row['std']:.1f}" if row.get("std") is not None else ""
    return f"{row['mean']:.1f}{spread} (n={len(row.get('accuracies', []))})"


def _converged(row: dict | None) -> str:
    """``3/3``: how many of a row's runs met the convergence criterion."""
    if not row or "converged" not in row:
        return "n/a"
    flags = row["converged"] if isinstance(row["converged"], list) else [row["converged"]]
    return f"{sum(bool(f) for f in flags)}/{len(flags)}"


def table1(res: dict) -> str:
    """Poster Table 1 (accuracy of the three models) beside ours: mean ± sd over seeds."""
    ours = res.get("table1", {})
    rows = []
    for kind in ("lstm", "cnn3d", "joint"):
        r = ours.get(kind, {})
        rows.append([
            MODEL_NAMES[kind], _num(POSTER["table1"][kind]), _mean_std(r), _converged(r),
            _params(r.get("params")), _params(r.get("params_paper")),
        ])
    return markdown_table(
        ["model", "poster acc. %", "ours acc. % (test users, mean ± sd over seeds)", "runs converged",
         "ours params (course)", "ours params (paper preset)"], rows
    )


def table2(res: dict) -> str:
    """Poster Table 2 (distillation into the two students) beside ours, mean ± sd over paired seeds."""
    ours = res.get("table2", {})
    rows = []
    for key, (params, acc) in POSTER["table2"].items():
        r = ours.get(key) or res.get("table1", {}).get({"teacher": "cnn3d"}.get(key, key))
        rows.append([MODEL_NAMES.get(key, key), f"{params:.2f} M", _num(acc, "{:.2f}"),
                     _params((r or {}).get("params")), _mean_std(r), _converged(r)])
    return markdown_table(["model", "poster params", "poster acc. %", "ours params (course)",
                           "ours acc. % (test users, mean ± sd over seeds)", "runs converged"], rows)


def table3(res: dict) -> str:
    """Poster Table 3 (sizes and accuracy after fp16 / sparsity) beside ours."""
    ours = res.get("table3", {})
    rows = []
    for key, (p_params, p_mb32, p_acc32, p_mb16, p_acc16) in POSTER["table3"].items():
        r = ours.get(key, {})
        rows.append([
            MODEL_NAMES[key],
            f"{p_params:.2f} M / {_params(r.get('params'))}",
            f"{p_mb32} / {_num(r.get('paper_fp32_mb'), '{:.2f}')} / {_num(r.get('fp32_mb'), '{:.3f}')}",
            f"{p_mb16} / {_num(r.get('paper_fp16_mb'), '{:.2f}')} / {_num(r.get('fp16_mb'), '{:.3f}')}",
            _num(r.get("sparse_mb"), "{:.3f}"), _num(r.get("int8_mb"), "{:.3f}"),
            f"{p_acc32} / {_num(r.get('acc_fp32'))}", f"{p_acc16} / {_num(r.get('acc_fp16'))}",
            _num(r.get("acc_int8")),
        ])
    return markdown_table(
        ["model", "params: poster / ours", "fp32 MB: poster / paper preset / course", "fp16 MB: poster / paper preset / course",
         "sparse MB (course)", "int8 MB (course)", "fp32 acc. %: poster / ours", "fp16 acc. %: poster / ours", "int8 acc. %"],
        rows,
    )


def _verdict(value: float | None, holds: float, partly: float) -> str:
    if value is None:
        return "not measured"
    return "holds" if value >= holds else "partly" if value > partly else "does not hold"


def _comparison_claim(comparison: dict | None) -> tuple[str, str]:
    """(ours, verdict) of a paired comparison over seeds (see :mod:`gesturelib.stats`)."""
    if not comparison:
        return "n/a", "not measured"
    return stats.describe(comparison), comparison["verdict"]


def claims(res: dict) -> list[dict[str, str]]:
    """Each claim of the poster with the poster's figure, ours, and the verdict its evidence allows.

    Comparisons of models are paired over seeds: ours is the mean difference
    with its 95 % interval, and the verdict follows from the interval
    (:mod:`gesturelib.stats`).
    """
    t1, t2, t3, w = (res.get(k, {}) for k in ("table1", "table2", "table3", "weights"))
    out = []

    def add(claim, poster, ours, verdict):
        out.append({"claim": claim, "poster": poster, "ours": ours, "verdict": verdict})

    comparisons = t1.get("comparisons", {})
    add("the joint 3D-CNN + LSTM beats the 3D-CNN", "+3.1 points (93.2 vs 90.1)",
        *_comparison_claim(comparisons.get("joint_vs_cnn3d")))
    add("the 3D-CNN beats the LSTM baseline", "+3.5 points (90.1 vs 86.6)",
        *_comparison_claim(comparisons.get("cnn3d_vs_lstm")))
    for size, gain in (("medium", 2.17), ("small", 4.55)):
        add(f"distillation from the 3D-CNN teacher helps the {size} student", f"{gain:+.2f} points",
            *_comparison_claim(t2.get("comparisons", {}).get(f"student_{size}")))
    adam = w.get("adam", {})
    if adam.get("total"):
        frac = adam["below_2^-100"] / adam["total"]
        ours = f"{adam['below_2^-100']:,} of {adam['total']:,} ({100 * frac:.1f} %); below 1e-3: {adam.get('below_1e-3', 0):,}"
        converged = w.get("runs", {}).get("Adam", {}).get("converged", True)
        add("Adam pushes most student weights below 2^-100", "905 K of 1.15 M (79 %)", ours,
            _verdict(frac, 0.5, 0.1) if converged else stats.NOT_CONVERGED)
    else:
        add("Adam pushes most student weights below 2^-100", "905 K of 1.15 M (79 %)", "n/a", "not measured")
    rows = [r for r in t3.values() if isinstance(r, dict) and r.get("acc_fp16") is not None and r.get("acc_fp32") is not None]
    drop = max((r["acc_fp32"] - r["acc_fp16"] for r in rows), default=None)
    add("fp16 costs (almost) no accuracy", "at most 0.6 points", "n/a" if drop is None else f"largest drop {drop:.2f} points",
        _verdict(None if drop is None else -drop, -0.5, -2.0))
    add("the sparse small student keeps the accuracy", "86.05 vs 86.05 (0 points)",
        *_comparison_claim(t3.get("sparse_vs_dense")))
    return out


def claims_table(res: dict) -> str:
    """The claims as a Markdown table."""
    return markdown_table(["claim of the poster", "poster", "ours", "verdict"],
                          [[c["claim"], c["poster"], c["ours"], c["verdict"]] for c in claims(res)])


SECTIONS = {"table1": table1, "table2": table2, "table3": table3, "claims": claims_table}


def update_readme(path: Path, res: dict) -> None:
    """Rewrite every ``<!-- BEGIN results:NAME -->`` ... ``<!-- END results:NAME -->`` block of ``path``."""
    text = Path(path).read_text()
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- BEGIN results:{name} -->\n).*?(<!-- END results:{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"{path}: no results:{name} markers")
        table = make(res)
        text = pattern.sub(lambda m: m[1] + table + "\n" + m[2], text)
    tmp = Path(path).with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def size_accuracy_points(res: dict) -> list[dict[str, Any]]:
    """Every model and compressed form with a measured size (MB, course preset) and test accuracy."""
    points = []
    forms = (("fp32_mb", "acc_fp32", "fp32"), ("fp16_mb", "acc_fp16", "fp16"),
             ("sparse_mb", "acc_sparse", "sparse"), ("int8_mb", "acc_int8", "int8"))
    for key, row in res.get("table3", {}).items():
        if key not in MODEL_NAMES or not isinstance(row, dict):
            continue
        for size_key, acc_key, form in forms:
            if row.get(size_key) is not None and row.get(acc_key) is not None:
                points.append({"model": MODEL_NAMES[key], "form": form, "mb": row[size_key], "accuracy": row[acc_key]})
    return points


def plot_accuracy_vs_size(res: dict):
    """Accuracy against file size (log scale) for every model and compressed form, ours and the poster's."""
    import matplotlib.pyplot as plt

    fig, (ours_ax, poster_ax) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=90)
    markers = {"fp32": "o", "fp16": "s", "sparse": "^", "int8": "D"}
    points = size_accuracy_points(res)
    models = sorted({p["model"] for p in points})
    colours = dict(zip(models, plt.cm.tab10.colors))
    for p in points:
        ours_ax.scatter(p["mb"], p["accuracy"], marker=markers[p["form"]], color=colours[p["model"]], s=60)
    for model in models:
        ours_ax.scatter([], [], color=colours[model], label=model)
    for form, marker in markers.items():
        ours_ax.scatter([], [], marker=marker, color="gray", label=form)
    ours_ax.set(xlabel="file size (MB, log scale)", ylabel="test accuracy (%)",
                title="Ours: course preset, embedded dataset")
    if points:
        ours_ax.set_xscale("log")
        ours_ax.legend(fontsize=8, loc="lower right")
    else:
        ours_ax.text(0.5, 0.5, "no compression results yet\n(run chapter 08)", ha="center", transform=ours_ax.transAxes)
    for key, (_, mb32, acc32, mb16, acc16) in POSTER["table3"].items():
        poster_ax.plot([mb32, mb16], [acc32, acc16], "o-", label=MODEL_NAMES[key])
    poster_ax.set(xscale="log", xlabel="model size (MB, log scale); fp32 then fp16", ylabel="accuracy (%)",
                  title="The poster (Table 3), ChaLearn 2014")
    poster_ax.legend(fontsize=8, loc="lower right")
    for ax in (ours_ax, poster_ax):
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig
