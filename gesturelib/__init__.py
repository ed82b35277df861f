"""gesturelib: compact and accurate gesture recognition from depth + gray video.

A teaching reproduction of "Learning deep and compact models for gesture
recognition" (Mullick & Namboodiri): ChaLearn 2014 reader and an embedded
Montalbano-like dataset, skeleton-based crops, a 3D-CNN, an LSTM and the joint
3D-CNN + LSTM, knowledge distillation into small students, pruning and fp16.
"""

__version__ = "0.1.0"
