"""The poster's tables beside ours, and a verdict per claim, as Markdown.

Notebook 09 shows these tables and the main job writes the same ones into the
README between ``<!-- BEGIN results:NAME -->`` / ``<!-- END results:NAME -->``
markers, so every number in the README comes from the results file that the
chapters wrote. Missing sections (a chapter not run yet) show as "n/a".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from . import files, stats

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

    def add(claim, poster, ours, outcome):
        out.append({"claim": claim, "poster": poster, "ours": ours, "verdict": outcome})

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
    add(REALTIME_CLAIM, "real time on mobile devices (no figure)", *_realtime_claim(res.get("realtime", {})))
    return out


#: The poster's last claim, as chapter 10 tests it (one laptop CPU thread stands in for a phone core).
REALTIME_CLAIM = "the small student recognises gestures in real time (one CPU thread; the poster: on mobile devices)"


def _realtime_claim(realtime: dict) -> tuple[str, str]:
    """Ours and the verdict: the small student's fastest form, end to end, against the Kinect's 20 frames/s."""
    form = realtime.get("fastest_student_form")
    speed = realtime.get("throughput", {}).get(form) if form else None
    if not speed:
        return "n/a", "not measured"
    jaccard = realtime.get("jaccard", {}).get("small student (distilled)", {}).get("mean Jaccard")
    ours = (f"{speed['fps']:.0f} frames/s end to end ({form.split(', ')[-1]}), {speed['realtime_factor']:.1f}x the "
            f"Kinect's 20; decision {speed['delay_s']:.2f} s after a gesture's end"
            + (f"; test mean Jaccard {jaccard:.3f}" if jaccard is not None else ""))
    return ours, "holds" if speed["realtime_factor"] >= 1 else "does not hold"


def claims_table(res: dict) -> str:
    """The claims as a Markdown table."""
    return markdown_table(["claim of the poster", "poster", "ours", "verdict"],
                          [[c["claim"], c["poster"], c["ours"], c["verdict"]] for c in claims(res)])


#: The time limits of the main job in full mode on the project's 2-core machine (seconds).
MAIN_JOB_LIMIT, CHAPTER_LIMIT = 25 * 60, 8 * 60


def main_job(res: dict) -> str:
    """How long the main job's steps took (``gesturelib.reproduce``), beside their limits."""
    timing = res.get("main_job", {}).get("seconds")
    if not timing:
        return "n/a (run `make reproduce`)"
    steps = [s for s in ("generate embedded dataset", "prepare clips") if s in timing]
    steps += sorted(s for s in timing if s.endswith(".ipynb"))
    mode = "quick mode" if timing.get("quick") else "full mode"

    def row(name: str, seconds: float, limit: float | None) -> list[str]:
        within = "n/a" if limit is None or timing.get("quick") else ("yes" if seconds <= limit else "no")
        return [name, f"{seconds / 60:.1f}", within]

    rows = [row(s, timing[s], CHAPTER_LIMIT if s.endswith(".ipynb") else None) for s in steps]
    rows.append(row("**whole job**", timing["total"], MAIN_JOB_LIMIT))
    return (f"Minutes per step of the last `make reproduce` ({mode}), beside the limits: "
            f"{CHAPTER_LIMIT // 60} minutes per chapter, {MAIN_JOB_LIMIT // 60} for the whole job.\n\n"
            + markdown_table(["step", "minutes", "within its limit"], rows))


SECTIONS = {"table1": table1, "table2": table2, "table3": table3, "claims": claims_table, "main_job": main_job}

#: The parts of a training epoch that ``benchmarks/bench_speed.py`` times, in the order shown.
EPOCH_PARTS = ("data", "teacher", "forward", "backward", "optimizer", "validation")


#: The order of the performance tables' rows (a JSON file does not keep one).
KIND_ORDER = ("cnn3d", "lstm", "joint", "student_medium", "student_small")
FORM_ORDER = ("fp32", "fp16", "int8", "onnxruntime")


def _order(name: str, order: tuple[str, ...]) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def performance(bench: dict) -> str:
    """The README's performance section from ``results/benchmarks.json`` (``benchmarks/bench_speed.py``):
    where a training epoch's time goes per kind, and batch-1 latency beside r3d_18."""
    peak = bench["matmul_gflops"]
    training = bench["training"]
    teacher_step = training.get("cnn3d", {}).get("step_ms")

    def own_epoch(fig: dict) -> float:  # the epoch without the teacher's passes
        return sum(s for p, s in fig["epoch_seconds"].items() if p != "teacher")

    teacher_epoch = own_epoch(training["cnn3d"]) if "cnn3d" in training else None
    rows = []
    for kind, fig in sorted(training.items(), key=lambda item: _order(item[0], KIND_ORDER)):
        parts = fig["epoch_seconds"]
        rows.append([kind, _params(fig["params"]), *(_num(parts.get(p), "{:.2f}") for p in EPOCH_PARTS),
                     _num(fig["step_ms"]), _num(fig["step_ms"] / teacher_step if teacher_step else None, "{:.2f}"),
                     _num(own_epoch(fig) / teacher_epoch if teacher_epoch else None, "{:.2f}"),
                     _num(fig["train_gflops"]), _num(100 * fig["fraction_of_matmul"], "{:.0f} %")])
    setup = bench["setup"]
    lines = [
        f"Training on one thread ({bench['machine']['capability']}, torch {bench['machine']['torch']}), "
        f"seconds per epoch of {setup['clips']} clips (batch {setup['batch_size']}) by part, the "
        f"validation pass over {setup['val_clips']} clips, and the step's compute (forward + backward + "
        f"optimizer) and the whole epoch without the teacher's passes beside the 3D-CNN teacher's. "
        f"The same run's 1024^3 matrix product: {peak:.1f} GFLOP/s. "
        "\"teacher\" is the teacher's forward pass over an epoch of views: online distillation needs it once per "
        "epoch and teacher, and every student reads the stored logits (`distill.TeacherTargets`).",
        "",
        markdown_table(["model", "params", *(f"{p} s" for p in EPOCH_PARTS), "step ms", "x teacher step",
                        "epoch x teacher", "GFLOP/s", "of matmul"], rows),
    ]
    latency = bench["latency"]
    r3d = latency["r3d_18_ms"]
    forms = [[f"small student, {form}", _num(fig["median_ms"], "{:.3f}"),
              "n/a" if fig["median_ms"] is None else f"1/{r3d / fig['median_ms']:.0f}", fig["note"]]
             for form, fig in sorted(latency["student_small"].items(), key=lambda item: _order(item[0], FORM_ORDER))]
    forms.append(["torchvision r3d_18 (both streams)", _num(r3d, "{:.1f}"), "1", ""])
    lines += ["", "Latency of one clip at batch 1 on one thread, median ms, measured side by side:", "",
              markdown_table(["model and form", "ms per clip", "x r3d_18", "note"], forms)]
    return "\n".join(lines)


def _replace_block(text: str, name: str, content: str, path: Path) -> str:
    pattern = re.compile(rf"(<!-- BEGIN results:{name} -->\n).*?(<!-- END results:{name} -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"{path}: no results:{name} markers")
    return pattern.sub(lambda m: m[1] + content + "\n" + m[2], text)


def _rewrite(path: Path, blocks: dict[str, str]) -> None:
    text = Path(path).read_text()
    for name, content in blocks.items():
        text = _replace_block(text, name, content, path)
    files.write_text(path, text)


def update_readme(path: Path, res: dict) -> None:
    """Rewrite every ``<!-- BEGIN results:NAME -->`` ... ``<!-- END results:NAME -->`` block of
    ``path`` that the results file fills (:data:`SECTIONS`)."""
    _rewrite(path, {name: make(res) for name, make in SECTIONS.items()})


def update_performance(path: Path, bench: dict) -> None:
    """Rewrite the ``results:performance`` block of ``path`` from ``results/benchmarks.json``."""
    _rewrite(path, {"performance": performance(bench)})


def size_accuracy_points(rows: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every model and compressed form of Table 3's ``rows`` (the results file's ``table3``, or
    :func:`gesturelib.pruning.table3_rows`) with a measured size (MB, course preset) and test accuracy."""
    points = []
    forms = (("fp32_mb", "acc_fp32", "fp32"), ("fp16_mb", "acc_fp16", "fp16"),
             ("sparse_mb", "acc_sparse", "sparse"), ("int8_mb", "acc_int8", "int8"))
    for key, row in rows.items():
        if key not in MODEL_NAMES or not isinstance(row, dict):
            continue
        for size_key, acc_key, form in forms:
            if row.get(size_key) is not None and row.get(acc_key) is not None:
                points.append({"model": MODEL_NAMES[key], "form": form, "mb": row[size_key], "accuracy": row[acc_key]})
    return points
