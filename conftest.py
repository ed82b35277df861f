"""Under pytest the chapters run in quick mode unless told otherwise.

``pytest --nbval`` (or ``pytest --nbval notebooks/03_baselines.ipynb``), typed
as a reader types it, executes each chapter in a kernel that inherits this
process's environment: setting ``GESTURELIB_QUICK`` here, before any kernel
starts, gives every chapter the quick mode's small data and short training.
``GESTURELIB_QUICK=0 pytest --nbval`` runs the chapters in full mode.
"""

import os

os.environ.setdefault("GESTURELIB_QUICK", "1")
