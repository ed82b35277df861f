import pytest

from gesturelib import report

from gesturelib import recipes, stats


def _row(accuracies, converged=True, params=None):
    records = [{"seed": seed, "test_accuracy": a, "converged": converged} for seed, a in enumerate(accuracies)]
    return recipes.seed_row(records, params or 1000)


T1 = {"cnn3d": _row([85.0, 86.0, 85.5], params=300_000), "lstm": _row([80.0, 79.0, 81.0]),
      "joint": _row([85.5, 85.0, 86.5])}
T2 = {"student_small/labels": _row([69, 70, 71]), "student_small/teacher": _row([72.5, 74, 75.5]),
      "student_medium/labels": _row([78, 80, 82], converged=False), "student_medium/teacher": _row([77, 79, 81])}
T1["comparisons"] = {"joint_vs_cnn3d": recipes.compare(T1["cnn3d"], T1["joint"]),
                     "cnn3d_vs_lstm": recipes.compare(T1["lstm"], T1["cnn3d"])}
T2["comparisons"] = {size: recipes.compare(T2[f"{size}/labels"], T2[f"{size}/teacher"])
                     for size in ("student_small", "student_medium")}
RESULTS = {
    "table1": T1,
    "table2": T2,
    "weights": {"adam": {"total": 1000, "below_2^-100": 0, "below_1e-3": 40}},
    "table3": {"student_small": {"acc_fp32": 74.0, "acc_fp16": 73.9}},
}


def test_claim_verdicts_follow_the_intervals():
    verdicts = {c["claim"]: c["verdict"] for c in report.claims(RESULTS)}
    assert verdicts["the joint 3D-CNN + LSTM beats the 3D-CNN"] == stats.INCONCLUSIVE  # +0.5, 0, +1
    assert verdicts["the 3D-CNN beats the LSTM baseline"] == stats.HOLDS  # +5, +7, +4.5
    assert verdicts["distillation from the 3D-CNN teacher helps the small student"] == stats.HOLDS
    # a labels-only medium run missed the convergence criterion: the comparison is not a test
    assert verdicts["distillation from the 3D-CNN teacher helps the medium student"] == stats.NOT_CONVERGED
    assert verdicts["Adam pushes most student weights below 2^-100"] == "does not hold"  # 0 of 1000
    assert verdicts["fp16 costs (almost) no accuracy"] == "holds"  # 0.1 point
    assert verdicts["the sparse small student keeps the accuracy"] == "not measured"
    ours = {c["claim"]: c["ours"] for c in report.claims(RESULTS)}
    assert ours["the 3D-CNN beats the LSTM baseline"].startswith("+5.5 points [") and "(n=3)" in ours[
        "the 3D-CNN beats the LSTM baseline"]


def test_tables_show_ours_beside_the_poster():
    t1 = report.table1(RESULTS)
    assert "90.1" in t1 and "85.5 ± 0.5 (n=3)" in t1 and "0.30 M" in t1 and "3/3" in t1
    t2 = report.table2(RESULTS)
    assert "74.0 ± 1.5 (n=3)" in t2 and "0/3" in t2
    assert report.table3({}).count("n/a") > 10


def test_update_readme_replaces_only_the_marked_blocks(tmp_path):
    readme = tmp_path / "README.md"
    blocks = "".join(f"<!-- BEGIN results:{n} -->\nold\n<!-- END results:{n} -->\n" for n in report.SECTIONS)
    readme.write_text("intro\n" + blocks + "outro\n")
    report.update_readme(readme, RESULTS)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "\nold\n" not in text
    assert "85.7" in text
    report.update_readme(readme, RESULTS)
    assert readme.read_text() == text


def test_update_readme_without_markers_names_the_file(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="README.md"):
        report.update_readme(readme, RESULTS)


def test_size_accuracy_points_keep_the_measured_forms_of_known_models():
    table3 = {"student_small": {"fp32_mb": 0.09, "acc_fp32": 74.0, "fp16_mb": 0.05, "acc_fp16": 73.9,
                                "int8_mb": None, "acc_int8": None},
              "student_small_sparse": {"fp32_mb": 0.04, "acc_fp32": 73.0, "sparse_mb": 0.03, "acc_sparse": 73.0},
              "latency_ms": {"fp32": 5.0}}  # not a model
    points = report.size_accuracy_points(table3)
    assert [(p["model"], p["form"], p["mb"]) for p in points] == [
        ("small student (distilled)", "fp32", 0.09), ("small student (distilled)", "fp16", 0.05),
        ("sparse small student", "fp32", 0.04), ("sparse small student", "sparse", 0.03)]
    assert report.size_accuracy_points({}) == []


def test_main_job_table_marks_steps_over_their_limits():
    timing = {"generate embedded dataset": 30.0, "prepare clips": 10.0, "03_baselines.ipynb": 400.0,
              "06_distillation.ipynb": 600.0, "total": 1200.0, "quick": False}
    table = report.main_job({"main_job": {"seconds": timing}})
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines() if line.startswith("| ")}
    assert rows["03_baselines.ipynb"].endswith("| 6.7 | yes |")
    assert rows["06_distillation.ipynb"].endswith("| 10.0 | no |")  # over the 8-minute chapter limit
    assert rows["**whole job**"].endswith("| 20.0 | yes |")
    assert "| n/a |" in rows["prepare clips"]
    assert "quick mode" in report.main_job({"main_job": {"seconds": {**timing, "quick": True}}})
    assert report.main_job({}).startswith("n/a")


BENCH = {
    "machine": {"torch": "2.x", "capability": "AVX2", "threads": 1},
    "setup": {"clips": 64, "val_clips": 32, "batch_size": 32, "rounds": 1, "preset": "course"},
    "matmul_gflops": 100.0,
    "training": {
        "cnn3d": {"params": 300_000, "train_gflop_per_clip": 0.2, "step_ms": 100.0, "train_gflops": 50.0,
                  "fraction_of_matmul": 0.5,
                  "epoch_seconds": {"data": 0.1, "forward": 1.0, "backward": 1.0, "optimizer": 0.1, "validation": 0.5}},
        "student_small": {"params": 19_000, "train_gflop_per_clip": 0.01, "step_ms": 20.0, "train_gflops": 10.0,
                          "fraction_of_matmul": 0.1,
                          "epoch_seconds": {"data": 0.1, "teacher": 1.2, "forward": 0.2, "backward": 0.2,
                                            "optimizer": 0.0, "validation": 0.1}},
    },
    "latency": {"student_small": {"fp32": {"median_ms": 0.5, "note": ""},
                                  "fp16": {"median_ms": None, "note": "no fp16 kernel"}},
                "r3d_18_ms": 80.0},
}


def test_performance_section_reads_the_benchmark_file(tmp_path):
    text = report.performance(BENCH)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert "| 0.20 |" in rows["student_small"] and "| 10 % |" in rows["student_small"]  # 20 ms / 100 ms
    assert "| n/a |" in rows["cnn3d"]  # no teacher pass for the teacher itself
    assert "| 1/160 |" in rows["small student, fp32"] and "no fp16 kernel" in rows["small student, fp16"]
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- BEGIN results:performance -->\nold\n<!-- END results:performance -->\nb\n")
    report.update_performance(readme, BENCH)
    assert "1/160" in readme.read_text() and "\nold\n" not in readme.read_text()


def test_the_readme_has_every_generated_block():
    from gesturelib import runtime

    text = (runtime.REPO_ROOT / "README.md").read_text()
    for name in [*report.SECTIONS, "performance"]:
        assert f"<!-- BEGIN results:{name} -->" in text and f"<!-- END results:{name} -->" in text


def test_real_time_claim_follows_the_fastest_form_against_20_frames_per_second():
    speed = {"fps": 450.0, "realtime_factor": 22.5, "delay_s": 0.16}
    realtime = {"fastest_student_form": "small student, onnxruntime",
                "throughput": {"small student, onnxruntime": speed},
                "jaccard": {"small student (distilled)": {"mean Jaccard": 0.61}}}
    claim = next(c for c in report.claims({"realtime": realtime}) if c["claim"] == report.REALTIME_CLAIM)
    assert claim["verdict"] == "holds" and "450 frames/s" in claim["ours"] and "onnxruntime" in claim["ours"]
    assert "0.610" in claim["ours"]
    slow = {**realtime, "throughput": {"small student, onnxruntime": {**speed, "fps": 12.0, "realtime_factor": 0.6}}}
    assert next(c for c in report.claims({"realtime": slow}) if c["claim"] == report.REALTIME_CLAIM)["verdict"] == \
        "does not hold"
    assert next(c for c in report.claims({}) if c["claim"] == report.REALTIME_CLAIM)["verdict"] == "not measured"


def test_the_main_job_runs_the_results_chapter_last():
    from gesturelib import reproduce

    names = [p.name for p in reproduce.notebook_paths()]
    assert names[-1] == reproduce.RESULTS_CHAPTER and names[:-1] == sorted(names[:-1])
    assert [p.name for p in reproduce.notebook_paths(["09", "03"])] == ["03_baselines.ipynb", "09_results.ipynb"]
