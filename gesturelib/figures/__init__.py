"""The chapters' figures and tables, one module per chapter, drawn from what the pipeline computes.

======================  =============================================
module                  chapters
======================  =============================================
:mod:`.explore`         01 data exploration
:mod:`.cropviz`         02 cropping and augmentation
:mod:`.modelviz`        03 baselines, 04 joint model (and 06's diagram)
:mod:`.softmax_viz`     05 softened softmax
:mod:`.distill_viz`     06 distillation
:mod:`.compressviz`     07 weight magnitudes, 08 pruning and fp16
:mod:`.verdicts_viz`    06 and 09: paired comparisons and verdicts
:mod:`.stream_viz`      10 real time
======================  =============================================

The layer sits on top: a figure module may import any pipeline module, no
pipeline module imports a figure (``tests/test_layers.py`` checks it).
"""
