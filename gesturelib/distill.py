"""Knowledge distillation (Hinton et al. 2015), as the poster uses it to train compact students.

The teacher's logits z are softened with a temperature T,
``q_i = exp(z_i / T) / sum_j exp(z_j / T)``: at T = 1 this is the ordinary
softmax, larger T spreads probability onto the classes the teacher finds
*similar* to the right one ("dark knowledge"). The student learns from

    L = alpha * [T^2] * KL(q_teacher || q_student) + (1 - alpha) * CE(student, labels)

with the poster's alpha = 0.5. Two details matter and both are options here so
the notebook can show them:

* ``T^2``: the soft term's gradient w.r.t. the student's logits is
  ``(q_student - q_teacher) / T`` per sample, and for large T
  ``q_student - q_teacher`` itself shrinks like ``1/T``; so the gradient shrinks
  like ``1/T^2`` and the soft term fades out of the mix as T grows. Multiplying
  by ``T^2`` keeps its scale (``t2_scaling=True``, the default).
* ``reduction="batchmean"``: ``F.kl_div(..., reduction="mean")`` divides by
  batch x classes, not by the batch, so it silently shrinks the soft term by the
  number of classes (20 here). ``"batchmean"`` is the KL divergence per sample,
  the quantity the formula means.

The teacher can see the student's training clips in two ways (``KDCriterion``):
"online" runs the frozen teacher on the same augmented batch the student sees
(matched views, one extra teacher forward pass per sample per epoch); "cached"
computes the teacher's logits once on the un-augmented training clips and looks
them up (``WithTeacherLogits``; cheaper, but under augmentation the student's
view and the teacher's no longer match). ``view_mismatch`` measures how far
apart the two views' soft targets are.

``entropy_temperature`` fixes T from the teacher alone, before any student is
trained; ``agreement`` and ``gradient_mix`` measure how a trained student
relates to its teacher (chapter 06's "why").
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

try:
    import fcntl  # POSIX; elsewhere two processes may compute the same epoch (same numbers, atomic writes)
except ImportError:
    fcntl = None

from . import data, files, modelcache, train

TEACHER_MODES = ("online", "cached")
#: The largest epoch of views (in bytes) that the teacher's pass hands on to the student's
#: batches rather than let them be made again (the course preset's 1136 clips: 0.3 GB).
KEPT_VIEWS_BYTES = 2**30


def softened_softmax(logits: Tensor, T: float) -> Tensor:
    """The softmax of ``logits / T`` over the last dimension (T > 0).

    ``torch.softmax`` subtracts the row maximum before exponentiating, so large
    logits or a small T do not overflow.
    """
    _check_temperature(T)
    return torch.softmax(logits / T, dim=-1)


class KDTerms(NamedTuple):
    """The two parts of the distillation loss, before they are mixed by alpha."""

    soft: Tensor  #: (T^2 if t2_scaling) * KL(teacher_T || student_T), mean over the batch
    hard: Tensor  #: cross-entropy of the student's (unsoftened) logits with the labels


def kd_terms(
    student_logits: Tensor,
    teacher_logits: Tensor,
    labels: Tensor,
    T: float,
    t2_scaling: bool = True,
) -> KDTerms:
    """The soft (teacher) and hard (label) terms of the KD loss, separately, for plotting.

    The soft term is ``KL(q_teacher || q_student)`` at temperature T, summed over
    classes and averaged over the batch (``reduction="batchmean"``), times T^2
    when ``t2_scaling``. The teacher's logits are treated as constants.
    """
    _check_temperature(T)
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits "
            f"{tuple(teacher_logits.shape)} must have the same shape"
        )
    log_student = F.log_softmax(student_logits / T, dim=-1)
    log_teacher = F.log_softmax(teacher_logits.detach() / T, dim=-1)
    soft = F.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True)
    if t2_scaling:
        soft = soft * T**2
    hard = F.cross_entropy(student_logits, labels)
    return KDTerms(soft=soft, hard=hard)


def kd_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    labels: Tensor,
    T: float,
    alpha: float,
    t2_scaling: bool = True,
) -> Tensor:
    """``alpha * soft + (1 - alpha) * hard`` (see ``kd_terms``); alpha = 0 is plain cross-entropy.

    Example of the "mean" trap (20 classes): ``F.kl_div(log_q_s, log_q_t,
    reduction="mean", log_target=True)`` equals the ``"batchmean"`` value used
    here divided by 20, because "mean" averages over batch x classes.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    terms = kd_terms(student_logits, teacher_logits, labels, T, t2_scaling)
    return alpha * terms.soft + (1.0 - alpha) * terms.hard


def soft_gradient_norms(
    student_logits: Tensor, teacher_logits: Tensor, temperatures: Sequence[float], t2_scaling: bool
) -> list[float]:
    """Norm of the soft term's gradient w.r.t. the student's logits, for each T.

    With ``t2_scaling`` it stays about level as T grows; without, it falls
    like 1/T^2 (the reason for the T^2 factor, shown in notebook 06).
    """
    labels = teacher_logits.argmax(dim=-1)  # the hard term is not part of the soft gradient
    norms = []
    for T in temperatures:
        student = student_logits.detach().clone().requires_grad_(True)
        (gradient,) = torch.autograd.grad(kd_terms(student, teacher_logits, labels, T, t2_scaling).soft, student)
        norms.append(gradient.norm().item())
    return norms


def entropy_temperature(teacher_logits: Tensor, candidates: Sequence[float], fraction: float = 0.5) -> float:
    """The smallest candidate T at which the teacher's softened outputs carry, on average over
    the clips, at least ``fraction`` of the maximum entropy (``log2(classes)`` bits).

    A rule fixed before any student is trained (chapter 05): below it the soft
    targets are nearly the one-hot labels again; far above it they approach
    the uniform distribution. The largest candidate when none reaches it.
    """
    target = fraction * math.log2(teacher_logits.shape[-1])
    for T in sorted(candidates):
        if mean_entropy(teacher_logits, T) >= target:
            return float(T)
    return float(max(candidates))


def mean_entropy(logits: Tensor, T: float) -> float:
    """Mean entropy in bits of the softened outputs ``softened_softmax(logits, T)`` over the rows."""
    q = softened_softmax(logits.float(), T)
    return -(q * torch.log2(q.clamp_min(1e-30))).sum(-1).mean().item()


def agreement(student_logits: Tensor, teacher_logits: Tensor) -> float:
    """Fraction of the clips on which student and teacher pick the same class (logits of the same clips)."""
    return (student_logits.argmax(-1) == teacher_logits.argmax(-1)).double().mean().item()


class GradientMix(NamedTuple):
    """How the two terms of the KD loss pull on the student's weights (means over batches)."""

    soft_share: float  #: ||alpha * grad soft|| / (||alpha * grad soft|| + ||(1 - alpha) * grad hard||)
    cosine: float  #: cosine between the two gradients: below 0 the teacher pulls against the labels


def gradient_mix(student: nn.Module, teacher: nn.Module, dataset: Dataset, T: float, alpha: float,
                 batches: int = 8, batch_size: int = 32, t2_scaling: bool = True, seed: int = 0) -> GradientMix:
    """The soft term's share of the gradient and its agreement with the hard term's, on ``dataset``.

    Measured on a copy of the student in training mode (dropout on, as when it
    learns, its masks drawn from a generator seeded with ``seed`` so the result
    repeats) over the first ``batches`` batches in order; nothing is updated and
    the caller's random state is untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _gradient_mix(student, teacher, dataset, T, alpha, batches, batch_size, t2_scaling)


def _gradient_mix(student: nn.Module, teacher: nn.Module, dataset: Dataset, T: float, alpha: float,
                  batches: int, batch_size: int, t2_scaling: bool) -> GradientMix:
    model = copy.deepcopy(student).train()
    teacher.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    shares, cosines = [], []
    for index, (clips, labels) in enumerate(DataLoader(dataset, batch_size=batch_size, shuffle=False)):
        if index == batches:
            break
        with torch.no_grad():
            teacher_logits = teacher(clips)
        terms = kd_terms(model(clips), teacher_logits, torch.as_tensor(labels), T, t2_scaling)
        soft = torch.cat([g.flatten() for g in torch.autograd.grad(alpha * terms.soft, params, retain_graph=True)])
        hard = torch.cat([g.flatten() for g in torch.autograd.grad((1 - alpha) * terms.hard, params)])
        shares.append((soft.norm() / (soft.norm() + hard.norm())).item())
        cosines.append(F.cosine_similarity(soft, hard, dim=0).item())
    return GradientMix(statistics.fmean(shares), statistics.fmean(cosines))


def _check_temperature(T: float) -> None:
    if not T > 0:
        raise ValueError(f"the temperature T must be positive, got {T}")


class WithTeacherLogits(Dataset):
    """A dataset whose items ``(clip, label)`` become ``(clip, (label, teacher_logits))``.

    For the "cached" teacher mode: ``logits[i]`` must be the teacher's output for
    item i of the same dataset (same root, split and order; compute them with
    ``teacher_logits`` on the un-augmented version). The default DataLoader
    collates the pair into ``[labels, logits]``.
    """

    def __init__(self, dataset: Dataset, logits: Tensor):
        logits = torch.as_tensor(logits, dtype=torch.float32)
        if logits.ndim != 2 or len(logits) != len(dataset):
            raise ValueError(
                f"teacher logits {tuple(logits.shape)} do not match the dataset: need "
                f"({len(dataset)}, classes), one row per item"
            )
        self.dataset = dataset
        self.logits = logits

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        clip, label = self.dataset[index]
        return clip, (label, self.logits[index])


class KDCriterion:
    """The trainer's ``criterion(logits, target, inputs) -> loss`` for distillation.

    A ``target`` ``(labels, teacher_logits)`` brings the teacher's logits with the
    batch: from a :class:`TeacherTargets` (online, the teacher's logits on the
    very view the student sees, computed once per view) or a
    :class:`WithTeacherLogits` (mode "cached": on the clean clips). Otherwise, in
    mode "online", the frozen teacher runs on the batch the student sees and
    ``target`` is the labels (or a tuple/list whose first element is the labels).
    The teacher is put in eval mode (and moved to the inputs' device) in place;
    it runs under ``torch.no_grad``, so it never learns.
    """

    def __init__(
        self,
        T: float,
        alpha: float = 0.5,
        t2_scaling: bool = True,
        mode: str = "online",
        teacher: nn.Module | None = None,
    ):
        if mode not in TEACHER_MODES:
            raise ValueError(f"teacher mode must be one of {TEACHER_MODES}, got {mode!r}")
        if mode == "online" and teacher is None:
            raise ValueError('teacher mode "online" needs the teacher model')
        _check_temperature(T)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.T, self.alpha, self.t2_scaling, self.mode = T, alpha, t2_scaling, mode
        self.teacher = teacher

    def terms(self, student_logits: Tensor, target, inputs: Tensor) -> KDTerms:
        """The soft and hard terms on this batch (for logging and plots)."""
        labels, teacher_logits = self._labels_and_teacher_logits(target, inputs)
        return kd_terms(student_logits, teacher_logits.to(student_logits.device), labels, self.T, self.t2_scaling)

    def __call__(self, student_logits: Tensor, target, inputs: Tensor) -> Tensor:
        terms = self.terms(student_logits, target, inputs)
        return self.alpha * terms.soft + (1.0 - self.alpha) * terms.hard

    def _labels_and_teacher_logits(self, target, inputs: Tensor) -> tuple[Tensor, Tensor]:
        if isinstance(target, (tuple, list)) and len(target) == 2:
            return target[0], target[1]  # the logits came with the batch (WithTeacherLogits, TeacherTargets)
        if self.mode == "cached":
            raise ValueError(
                'teacher mode "cached" needs targets (labels, teacher_logits): wrap the '
                "dataset in distill.WithTeacherLogits"
            )
        labels = target[0] if isinstance(target, (tuple, list)) else target
        self.teacher.eval()  # whatever happened to it since, the teacher never trains here
        if next(self.teacher.parameters()).device != inputs.device:
            self.teacher.to(inputs.device)
        with torch.no_grad():
            return labels, self.teacher(inputs)


class TeacherTargets(Dataset):
    """The items of an :class:`data.EpochViews` with the teacher's logits on that very view:
    ``(view, (label, teacher_logits))``, for online distillation (matched views).

    The views of an epoch are the same for every run, whatever its seed or
    student (they depend on the epoch and the clip only), so the teacher's
    logits on them are computed once per epoch, for all clips in order, and
    stored in ``folder`` under a key of the teacher's weights and the data;
    any run that needs that epoch later, in this process or another, reads
    them back. The file name holds the device and the thread count, so a
    read gives exactly what this process would compute (bit-identical on a
    CPU with one thread count). Files are written atomically.

    Processes training side by side on one machine share the folder: the
    first to need an epoch claims it (an OS lock on a file beside it) and
    computes it; one that finds it claimed computes the next unclaimed epoch
    instead, up to ``epochs`` (the run's cap), and then reads the one it
    waited for. Runs in step thus split the teacher's passes between them
    rather than queue for them, and no epoch that no run reaches is computed.
    A pass over the run's current epoch hands its views on to the run's own
    batches (:meth:`data.EpochViews.keep`), which then need not make them again.
    """

    def __init__(self, views: data.EpochViews, teacher: nn.Module, folder: str | Path, data_key,
                 batch_size: int = train.EVAL_BATCH_SIZE, epochs: int | None = None):
        key = json.dumps({"teacher": weights_hash(teacher), "data": data_key, "view_seed": views.seed},
                         sort_keys=True, default=str)
        self.views, self.teacher, self.batch_size, self.epochs = views, teacher, batch_size, epochs
        self.folder = Path(folder) / hashlib.sha256(key.encode()).hexdigest()[:16]
        self.computed = self.read = 0  #: epochs whose logits this object computed / read from disk
        self._epoch: int | None = None
        self._logits: Tensor | None = None

    def set_epoch(self, epoch: int) -> None:
        self.views.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.views)

    def __getitem__(self, index: int):
        logits = self.logits(self.views.epoch)[index]  # first: the teacher's pass may keep the views
        clip, label = self.views[index]
        return clip, (label, logits)

    def logits(self, epoch: int) -> Tensor:
        """The teacher's logits (clips, classes) on the views of ``epoch``, in clip order, on CPU."""
        if self._epoch != epoch:
            while (state := self._compute_unless_claimed(epoch)) == "claimed":
                # Another process is computing it: compute a later epoch meanwhile, or wait a moment.
                ahead = range(epoch + 1, epoch + 2 if self.epochs is None else self.epochs)
                if not any(self._compute_unless_claimed(later) == "computed" for later in ahead):
                    time.sleep(0.02)
            if state == "stored":
                self.read += 1
            self._epoch, self._logits = epoch, torch.load(self._path(epoch), weights_only=True)
        return self._logits

    def _path(self, epoch: int) -> Path:
        device = next(self.teacher.parameters()).device
        return self.folder / f"epoch-{epoch:03d}-{device.type}-{torch.get_num_threads()}threads.pt"

    def _compute_unless_claimed(self, epoch: int) -> str:
        """``"stored"`` if the epoch's file exists, ``"claimed"`` if another process is computing it,
        else ``"computed"`` after computing and storing it here."""
        path = self._path(epoch)
        if path.exists():
            return "stored"
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_suffix(".lock")
        with open(lock, "a") as handle:
            if fcntl is not None:  # an OS lock: released when its process ends, however it ends
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return "claimed"
            if path.exists():  # its claimer finished between the check and the claim
                return "stored"
            files.save_torch(self._compute(epoch), path)
            lock.unlink(missing_ok=True)  # whoever opens it still sees the file first
            self.computed += 1
        return "computed"

    def _compute(self, epoch: int) -> Tensor:
        device = next(self.teacher.parameters()).device
        self.teacher.eval()
        keep = epoch == self.views.epoch  # the student's own batches of this epoch will take these views
        out, kept = [], []
        with torch.no_grad():
            for first in range(0, len(self.views), self.batch_size):
                items = [self.views.view(i, epoch) for i in range(first, min(first + self.batch_size, len(self.views)))]
                keep = keep and items[0][0].nbytes * len(self.views) <= KEPT_VIEWS_BYTES
                kept += items if keep else []
                out.append(self.teacher(torch.stack([clip for clip, _ in items]).to(device)).float().cpu())
        if keep:
            self.views.keep(epoch, kept)
        return torch.cat(out)


def precompute_teacher_logits(teacher: nn.Module, dataset: Dataset, batch_size: int = train.EVAL_BATCH_SIZE) -> Tensor:
    """The teacher's logits (N, classes) for every item of ``dataset``, in order, on CPU.

    Run it on the un-augmented training clips for the "cached" mode. The
    teacher runs in eval mode on whatever device its parameters are on.
    """
    logits, _ = train.predict(teacher, dataset, batch_size=batch_size, progress=True)
    return logits


def weights_hash(model: nn.Module) -> str:
    """16 hex digits of the SHA-256 of a model's state (names, dtypes, shapes and bytes).

    It identifies a teacher exactly, however it was trained or loaded, so a
    student distilled from another teacher gets another cache key.
    """
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def distillation_key(teacher: nn.Module, T: float, alpha: float, t2_scaling: bool, teacher_mode: str) -> dict:
    """The ``extra_key`` of a distilled student: which teacher and which KD settings."""
    return {"distillation": {
        "teacher": type(teacher).__name__, "teacher_weights": weights_hash(teacher),
        "T": T, "alpha": alpha, "t2_scaling": t2_scaling, "teacher_mode": teacher_mode,
    }}


def train_student(
    kind: str,
    preset: str,
    train_set: Dataset,
    val_set: Dataset | None,
    config: train.TrainConfig,
    *,
    data_key,
    teacher: nn.Module | None = None,
    T: float = 4.0,
    alpha: float = 0.5,
    t2_scaling: bool = True,
    teacher_mode: str = "online",
    plain_train_set: Dataset | None = None,
    seed: int | None = None,
    cache_dir=None,
    teacher_targets: str | Path | None = None,
    progress: bool = True,
) -> tuple[nn.Module, train.History]:
    """A student trained (or loaded from the model cache) with labels only or with the teacher.

    Without ``teacher`` it is the plain model of ``kind`` trained on the labels
    (the same cache entry as any other labels-only run of the same settings).
    With one, the loss is ``kd_loss`` through the team trainer; the cache key
    adds the teacher's weights hash, T, alpha, t2_scaling and the mode.
    ``teacher_mode="cached"`` needs ``plain_train_set``, the training clips
    without augmentation, in the same order as ``train_set``; their logits are
    computed only when the student is not cached yet. ``seed`` overrides
    ``config.seed`` (for runs over several seeds). ``teacher_targets``, a folder,
    lets "online" runs on a :class:`data.EpochViews` share the teacher's logits
    on each view (:class:`TeacherTargets`): computed once, read by every run.
    """
    if seed is not None:
        config = dataclasses.replace(config, seed=seed)
    common = dict(data_key=data_key, cache_dir=cache_dir, progress=progress)
    if teacher is None:
        return modelcache.load_or_train(kind, preset, train_set, val_set, config, **common)
    if teacher_mode not in TEACHER_MODES:
        raise ValueError(f"teacher mode must be one of {TEACHER_MODES}, got {teacher_mode!r}")
    extra_key = distillation_key(teacher, T, alpha, t2_scaling, teacher_mode)
    if teacher_mode == "cached":
        if plain_train_set is None:
            raise ValueError('teacher mode "cached" needs plain_train_set (the training clips without augmentation)')
        key = modelcache.model_key(kind, preset, config, data_key=data_key, extra_key=extra_key)
        if not (modelcache.cache_folder(key, cache_dir) / "key.json").exists():
            train_set = WithTeacherLogits(train_set, precompute_teacher_logits(teacher, plain_train_set, config.eval_batch_size))
    online = teacher_mode == "online"
    if online and teacher_targets is not None:
        if not isinstance(train_set, data.EpochViews):
            raise ValueError("teacher_targets needs a data.EpochViews training set (views that depend on the "
                             f"epoch and the clip only), got {type(train_set).__name__}")
        train_set = TeacherTargets(train_set, teacher, teacher_targets, data_key, epochs=config.epochs)
    criterion = KDCriterion(T, alpha, t2_scaling, teacher_mode, teacher if online else None)
    return modelcache.load_or_train(kind, preset, train_set, val_set, config, criterion=criterion,
                                    extra_key=extra_key, **common)


@dataclass(frozen=True)
class ViewMismatch:
    """How much the teacher's soft targets change when it sees the augmented clip instead of the clean one.

    KL divergences are in nats per clip, at temperature ``T``. ``kl_clean_vs_augmented``
    is what the "cached" mode gets wrong on every step: the targets it looks up
    (clean clip) against the ones that match the student's input (augmented clip).
    ``kl_same_class`` is a yardstick: the divergence between the clean targets of two
    different clips of the same class.
    """

    T: float
    clips: int
    kl_clean_vs_augmented: float  #: mean KL(q_T(clean) || q_T(augmented))
    kl_same_class: float  #: mean KL(q_T(clip) || q_T(another clip of its class)); NaN if no class has two clips
    top_class_agreement: float  #: fraction of clips whose augmented view keeps the clean view's top class


def view_mismatch(teacher: nn.Module, train_set: Dataset, plain_train_set: Dataset, T: float,
                  seed: int = 0, batch_size: int = train.EVAL_BATCH_SIZE) -> ViewMismatch:
    """Compare the teacher's softened outputs on augmented and clean training clips (one draw per clip).

    ``train_set`` and ``plain_train_set`` hold the same clips in the same order, with and
    without augmentation. A :class:`data.EpochViews` gives the views of its current epoch;
    an augmentation that draws from torch's global generator is seeded with ``seed`` here
    and the generator restored afterwards. Either way the result is reproducible and the
    caller's random state is untouched.
    """
    _check_temperature(T)
    if len(train_set) != len(plain_train_set):
        raise ValueError(
            f"the augmented ({len(train_set)}) and plain ({len(plain_train_set)}) training sets "
            "must hold the same clips"
        )
    with torch.random.fork_rng(devices=[]):  # even a DataLoader without shuffling draws a seed
        torch.manual_seed(seed)
        augmented, labels = train.predict(teacher, train_set, batch_size)
        clean, clean_labels = train.predict(teacher, plain_train_set, batch_size)
    if not torch.equal(labels, clean_labels):
        raise ValueError("the augmented and plain training sets list their clips in different orders")
    log_clean, log_augmented = F.log_softmax(clean / T, dim=-1), F.log_softmax(augmented / T, dim=-1)
    partner = _same_class_partner(labels)
    has_partner = partner >= 0
    same_class = _kl_rows(log_clean[has_partner], log_clean[partner[has_partner]])
    return ViewMismatch(
        T=T,
        clips=len(labels),
        kl_clean_vs_augmented=_kl_rows(log_clean, log_augmented).mean().item(),
        kl_same_class=same_class.mean().item() if len(same_class) else math.nan,
        top_class_agreement=(clean.argmax(-1) == augmented.argmax(-1)).double().mean().item(),
    )


def _kl_rows(log_p: Tensor, log_q: Tensor) -> Tensor:
    """KL(p || q) per row, from log-probabilities."""
    return (log_p.exp() * (log_p - log_q)).sum(dim=-1)


def _same_class_partner(labels: Tensor) -> Tensor:
    """For each item, the next item of the same class (cyclically, in order), or -1 if it is alone."""
    partner = torch.full_like(labels, -1)
    for label in labels.unique():
        members = (labels == label).nonzero().flatten()
        if len(members) > 1:
            partner[members] = members.roll(-1)
    return partner
