"""The chapters' recipes: runs trained side by side are the models a chapter trains on its own."""

import pytest
import torch

from gesturelib import modelcache, recipes


def test_run_stands_for_a_recipe_call():
    run = recipes.run_recipe("student", "student_small", seed=1, T=2.0)
    assert run == recipes.run_recipe("student", "student_small", T=2.0, seed=1)  # order does not matter
    assert run.options == (("T", 2.0), ("seed", 1))
    with pytest.raises(ValueError, match="unknown recipe"):
        recipes.run_recipe("distilled", "student_small")


def test_longest_runs_are_handed_out_first(monkeypatch):
    monkeypatch.setattr(recipes, "budget", lambda: recipes.FULL)  # the caps of full mode
    runs = [recipes.run_recipe("trained", "student_small"), recipes.run_recipe("student", "student_small", seed=1),
            recipes.run_recipe("trained", "lstm"), recipes.run_recipe("student", "student_medium", seed=1),
            recipes.run_recipe("student", "student_small", seed=1, epochs=5)]
    order = sorted(runs, key=recipes.expected_cost, reverse=True)
    # the LSTM baseline, then the medium student, then the small ones (a distilled student reads
    # its teacher's logits: it costs what a labels-only one does), then the short run
    assert order == [runs[2], runs[3], runs[0], runs[1], runs[4]]


def test_every_chapter_model_trains_on_one_thread():
    assert all(recipes.train_config(kind).num_threads == 1 for kind in recipes.FULL.epochs)


@pytest.mark.slow
def test_side_by_side_training_equals_training_in_the_notebook(quick_data):
    runs = [recipes.run_recipe("trained", "student_small", seed=seed) for seed in (0, 1)]
    same_model = recipes.run_recipe("student", "student_small", seed=1, with_teacher=False,  # = trained(...)
                                        epochs=recipes.QUICK.epochs["student_small"])
    assert same_model != runs[1]
    assert recipes.train_all([*runs, same_model], workers=2, progress=False) == 2  # two workers, two models
    assert recipes.train_all(runs, workers=2, progress=False) == 0  # both cached now
    side_by_side, _ = runs[1]()
    folders = sorted((quick_data / "quick" / "models").iterdir())
    assert len(folders) == 2
    for folder in folders:  # train both again here, in this process, from an empty cache
        for item in folder.iterdir():
            item.unlink()
        folder.rmdir()
    with modelcache.only_cached(), pytest.raises(modelcache.NotCached):
        runs[1]()
    assert recipes.train_all(runs, workers=1, progress=False) == 2
    here, _ = runs[1]()
    for name, value in side_by_side.state_dict().items():
        assert torch.equal(here.state_dict()[name], value), name


@pytest.mark.slow
def test_side_by_side_students_share_one_teacher_pass_per_epoch_and_match_a_lone_run(quick_data):
    runs = [recipes.run_recipe("student", "student_small", seed=seed) for seed in (0, 1)]
    assert recipes.train_all(runs, workers=2, progress=False) == 3  # the teacher first, then both students
    stored = sorted((quick_data / "quick" / "teacher-targets").rglob("*.pt"))
    epochs = recipes.QUICK.epochs["student_small"]
    assert len(stored) == epochs  # one stream of views for both seeds: one teacher pass per epoch
    side_by_side, _ = runs[1]()
    for folder in (quick_data / "quick" / "models").glob("student_small-*"):
        for item in folder.iterdir():
            item.unlink()
        folder.rmdir()
    for path in stored:
        path.unlink()
    here, _ = runs[1]()  # trained here, computing the teacher's logits as it goes
    assert sorted((quick_data / "quick" / "teacher-targets").rglob("*.pt")) == stored
    for name, value in side_by_side.state_dict().items():
        assert torch.equal(here.state_dict()[name], value), name


def test_seed_rows_and_paired_comparisons_carry_convergence():
    a = recipes.seed_row([{"seed": s, "test_accuracy": acc, "converged": True}
                              for s, acc in enumerate([80.0, 82.0, 81.0])], params=100)
    b = recipes.seed_row([{"seed": s, "test_accuracy": acc, "converged": s != 1}
                              for s, acc in enumerate([83.0, 84.0, 85.0])], params=100)
    assert a["mean"] == 81.0 and a["std"] == 1.0 and a["all_converged"] and not b["all_converged"]
    assert b["converged"] == [True, False, True] and len(b["runs"]) == 3
    comparison = recipes.compare(a, b)
    assert comparison["differences"] == [3.0, 2.0, 4.0]
    assert comparison["verdict"] == "not tested (not converged)"  # a run of b missed the criterion
    with pytest.raises(ValueError, match="at least one run"):
        recipes.seed_row([], params=1)


@pytest.mark.slow
def test_fewer_users_and_the_temperature_rule(quick_data):
    s = recipes.splits()
    views, key = recipes.fewer_users(s, 1)
    indices = views.dataset.indices
    users = {int(s.train_plain.users[i]) for i in indices}
    assert users == {min(s.train_plain.users.tolist())} and key["train_users"] == sorted(users)
    assert key["dataset"] == s.key["dataset"]
    # each clip repeated so that an epoch takes about as many steps as one on all users,
    # with a view of its own each time
    assert abs(len(views) - len(s.train)) <= len(set(indices)) / 2
    assert len(views) == key["repeats"] * len(set(indices))
    again = indices.index(indices[0], 1)
    assert not torch.equal(views[0][0], views[again][0])
    T = recipes.temperature(s)
    logits, _ = recipes.train.predict(recipes.trained_teacher(s), s.train_plain)
    assert T == recipes.distill.entropy_temperature(logits, recipes.TEMPERATURE_CANDIDATES)
