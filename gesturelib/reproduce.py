"""The main job: generate the embedded dataset, run every chapter, write the results.

``python -m gesturelib.reproduce`` (what ``make reproduce`` runs) executes the
numbered notebooks in order, in place, so the committed notebooks carry the
outputs of the code as it is; it prints how long each step took and rewrites
the README's result tables from the results file, so no number in the README
is typed by hand. A notebook that fails is reported and left as it was on disk
(its executed copy with the traceback goes next to it as ``*.failed.ipynb``);
the job goes on with the next one and exits non-zero at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import files, results, runtime

NOTEBOOKS_DIR = runtime.REPO_ROOT / "notebooks"


#: The chapter that gathers every other chapter's results: the main job runs it last.
RESULTS_CHAPTER = "09_results.ipynb"


def notebook_paths(only: list[str] | None = None) -> list[Path]:
    """The numbered chapters (``NN_*.ipynb``) in order, the results chapter last (it reads what
    every other chapter recorded, chapter 10 included); optionally only those whose number is given."""
    paths = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"), key=lambda p: (p.name == RESULTS_CHAPTER, p.name))
    if only:
        paths = [p for p in paths if p.name[:2] in only]
    return paths


def execute_notebook(path: Path, timeout: int = 1800) -> float:
    """Run one notebook top to bottom in a fresh kernel and save it in place; returns seconds."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError:
        nbformat.write(nb, path.with_suffix(".failed.ipynb"))
        raise
    seconds = time.perf_counter() - start
    with files.atomic_path(path) as tmp:
        nbformat.write(nb, str(tmp))
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="quick mode (GESTURELIB_QUICK=1): seconds, not minutes")
    parser.add_argument("--only", nargs="*", help="run only these chapters, by number (e.g. 03 04)")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README tables")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["GESTURELIB_QUICK"] = "1"

    from . import clipcache, synth

    timings: dict[str, float] = {}
    job_start = time.perf_counter()
    t0 = time.perf_counter()
    dataset = synth.ensure_dataset()
    timings["generate embedded dataset"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    clipcache.prepare(dataset, preset="course")
    timings["prepare clips"] = time.perf_counter() - t0

    failed = []
    for path in notebook_paths(args.only):
        print(f"running {path.name} ...", flush=True)
        try:
            timings[path.name] = execute_notebook(path)
        except Exception as err:  # noqa: BLE001 - report every failing chapter, then fail the job
            failed.append(path.name)
            print(f"FAILED {path.name}: {str(err).strip().splitlines()[-1] if str(err).strip() else err!r}")
    total = time.perf_counter() - job_start

    print("\nstep                                   seconds")
    for step, seconds in timings.items():
        print(f"{step:<38} {seconds:8.1f}")
    print(f"{'whole job':<38} {total:8.1f}")
    results.record("main_job", "seconds", {**timings, "total": total, "quick": runtime.quick_mode()})

    if not args.no_readme and not failed and not args.only:
        from . import report

        report.update_readme(runtime.REPO_ROOT / "README.md", results.load())
        print("README tables rewritten from", runtime.results_path())
    if failed:
        print("failed chapters:", ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
