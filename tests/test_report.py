import pytest

from gesturelib import report

RESULTS = {
    "table1": {"cnn3d": {"accuracy": 85.0, "params": 300_000}, "lstm": {"accuracy": 80.0}, "joint": {"accuracy": 85.5}},
    "table2": {
        "student_small/labels": {"mean": 70.0, "std": 1.0, "accuracies": [69, 70, 71]},
        "student_small/teacher": {"mean": 74.0, "std": 1.5, "accuracies": [72.5, 74, 75.5]},
        "student_medium/labels": {"mean": 80.0, "std": 2.0, "accuracies": [78, 80, 82]},
        "student_medium/teacher": {"mean": 79.0, "std": 2.0, "accuracies": [77, 79, 81]},
    },
    "weights": {"adam": {"total": 1000, "below_2^-100": 0, "below_1e-3": 40}},
    "table3": {"student_small": {"acc_fp32": 74.0, "acc_fp16": 73.9}},
}


def test_claim_verdicts_follow_the_numbers():
    verdicts = {c["claim"]: c["verdict"] for c in report.claims(RESULTS)}
    assert verdicts["the joint 3D-CNN + LSTM beats the 3D-CNN"] == "partly"  # +0.5 points
    assert verdicts["the 3D-CNN beats the LSTM baseline"] == "holds"  # +5 points
    assert verdicts["distillation from the 3D-CNN teacher helps the small student"] == "holds"  # +4 > 1.5
    assert verdicts["distillation from the 3D-CNN teacher helps the medium student"] == "does not hold"  # -1
    assert verdicts["Adam pushes most student weights below 2^-100"] == "does not hold"  # 0 of 1000
    assert verdicts["fp16 costs (almost) no accuracy"] == "holds"  # 0.1 point
    assert verdicts["the sparse small student keeps the accuracy"] == "not measured"


def test_tables_show_ours_beside_the_poster():
    t1 = report.table1(RESULTS)
    assert "90.1" in t1 and "85.0" in t1 and "0.30 M" in t1
    assert "74.0 ± 1.5 (n=3)" in report.table2(RESULTS)
    assert report.table3({}).count("n/a") > 10


def test_update_readme_replaces_only_the_marked_blocks(tmp_path):
    readme = tmp_path / "README.md"
    blocks = "".join(f"<!-- BEGIN results:{n} -->\nold\n<!-- END results:{n} -->\n" for n in report.SECTIONS)
    readme.write_text("intro\n" + blocks + "outro\n")
    report.update_readme(readme, RESULTS)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "\nold\n" not in text
    assert "85.5" in text
    report.update_readme(readme, RESULTS)
    assert readme.read_text() == text


def test_update_readme_without_markers_names_the_file(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="README.md"):
        report.update_readme(readme, RESULTS)


def test_size_accuracy_points_and_figure():
    res = {"table3": {"student_small": {"fp32_mb": 0.09, "acc_fp32": 74.0, "fp16_mb": 0.05, "acc_fp16": 73.9,
                                        "int8_mb": None, "acc_int8": None},
                      "latency_ms": {"fp32": 5.0}}}
    points = report.size_accuracy_points(res)
    assert [(p["form"], p["mb"]) for p in points] == [("fp32", 0.09), ("fp16", 0.05)]
    fig = report.plot_accuracy_vs_size(res)
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes[0].collections) >= 2
    assert report.plot_accuracy_vs_size({}).axes[0].texts  # says that chapter 08 has not run
