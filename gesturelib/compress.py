"""Make a trained model small: weight statistics, magnitude pruning, sparse / fp16 / int8 files.

The poster's last step (its Table 3) shrinks the distilled small student: drop
the weights with ``|w| < tau``, store what is left sparsely and in half
precision. This module measures each claim with files on disk:

* **Which tensors count as "weights"** (``scope``): ``"weights"`` (default) are
  the weight tensors of convolutions, linear layers and recurrent layers
  (``weight_ih_l0``, ``weight_hh_l0``, ...). Biases and BatchNorm are left out by
  default: they are well under 1 % of the parameters, and each one shifts or
  scales a whole channel, so zeroing one is not the small perturbation that
  zeroing one connection is; BatchNorm's running statistics are buffers, not
  learnt weights. ``"weights+biases"`` adds the biases of those layers;
  ``"all"`` takes every parameter of the model (BatchNorm included), which is
  what a total parameter count such as the poster's "1.15 M" counts.
* **Statistics**: ``weight_stats`` (per layer: count, mean ``|w|``, fraction below
  thresholds), ``log2_histograms`` (``log2|w|``; exact zeros counted apart since
  ``log2 0 = -inf``), ``magnitudes`` (the ``|w|`` behind them), ``count_below``
  and ``sparsity``.
* **Pruning** with ``torch.nn.utils.prune``: ``prune_by_threshold`` (``|w| < tau``)
  and ``prune_global_magnitude`` (the smallest fraction of all selected weights,
  ``L1Unstructured`` over the whole model). ``make_permanent`` applies
  ``prune.remove``: the pruned tensors go back to being ordinary Parameters under
  their original names (so state_dict keys do not change) and recurrent layers
  re-flatten their weights for cuDNN.
* **Files**: ``save_model(model, path, fmt)`` for ``fmt`` in ``FORMATS`` and
  ``saved_size_bytes``, which writes the file and reports ``os.path.getsize``:
  the number is the file, not an estimate. ``save_sparse`` / ``load_sparse``
  implement the sparse format described in ``save_sparse``.
* **Lower precision**: ``to_fp16`` (every floating tensor in half precision) and
  ``quantize_int8`` (dynamic int8 quantisation of the Linear and LSTM layers;
  convolutions stay fp32).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils import prune

from . import files

Scope = Literal["weights", "weights+biases", "all"]
SCOPES: tuple[str, ...] = ("weights", "weights+biases", "all")
GroupBy = Literal["layer_type", "layer", "all"]

#: Thresholds the poster's claim is about: its tau = 2^-100; 2^-24, the smallest
#: positive fp16 number (fp16 rounds magnitudes up to 2^-25 to zero); and an
#: everyday "small" 1e-3.
DEFAULT_THRESHOLDS: tuple[float, ...] = (2.0**-100, 2.0**-24, 1e-3)

FORMATS: tuple[str, ...] = ("fp32", "fp16", "sparse-fp32", "sparse-fp16", "int8")

_WEIGHT_LAYERS = (nn.modules.conv._ConvNd, nn.Linear, nn.RNNBase)


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class _Selected:
    """One selected tensor: its qualified name, layer type and where it lives."""

    name: str
    layer_type: str
    module: nn.Module
    attr: str

    def tensor(self) -> Tensor:
        """The tensor the forward pass uses (the masked one while pruning is not permanent)."""
        return getattr(self.module, self.attr).detach()


def _role(module: nn.Module, attr: str) -> str:
    """'weight', 'bias' or 'other' for parameter ``attr`` of ``module``."""
    if isinstance(module, _WEIGHT_LAYERS):
        recurrent = isinstance(module, nn.RNNBase)
        if attr == "weight" or (recurrent and attr.startswith("weight_")):
            return "weight"
        if attr == "bias" or (recurrent and attr.startswith("bias_")):
            return "bias"
    return "other"


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")


def _selected(model: nn.Module, scope: Scope) -> list[_Selected]:
    """The tensors in ``scope``, in module order, each under its original name.

    A tensor under pruning reparametrisation (``weight_orig`` + ``weight_mask``)
    is reported as ``weight``, the masked tensor the forward pass sees.
    """
    _check_scope(scope)
    roles = {"weights": {"weight"}, "weights+biases": {"weight", "bias"}, "all": None}[scope]
    selected = []
    for module_name, module in model.named_modules():
        for param_name in module._parameters:
            if module._parameters[param_name] is None:
                continue
            attr = param_name
            if attr.endswith("_orig") and f"{attr[:-5]}_mask" in module._buffers:
                attr = attr[:-5]
            if roles is not None and _role(module, attr) not in roles:
                continue
            name = f"{module_name}.{attr}" if module_name else attr
            selected.append(_Selected(name, type(module).__name__, module, attr))
    return selected


def _below(t: Tensor, threshold: float) -> Tensor:
    """``|t| < threshold``, compared in float64 so a threshold such as 1e-3 is not rounded to fp32 first."""
    return t.abs().double() < threshold


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class LayerStats:
    """Magnitude statistics of one weight tensor.

    ``below`` maps each threshold tau to the fraction of entries with ``|w| < tau``
    (exact zeros included); ``min_abs_nonzero`` is NaN when every entry is zero.
    """

    name: str
    layer_type: str
    count: int
    zeros: int
    mean_abs: float
    min_abs_nonzero: float
    below: dict[float, float]


def weight_stats(
    model: nn.Module, thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS, scope: Scope = "weights"
) -> list[LayerStats]:
    """Per-tensor statistics of the weights in ``scope``: the table behind the histograms."""
    stats = []
    for sel in _selected(model, scope):
        t = sel.tensor()
        mags = t.abs().double()
        nonzero = mags[mags > 0]
        stats.append(
            LayerStats(
                name=sel.name,
                layer_type=sel.layer_type,
                count=t.numel(),
                zeros=int((t == 0).sum()),
                mean_abs=float(mags.mean()) if t.numel() else float("nan"),
                min_abs_nonzero=float(nonzero.min()) if nonzero.numel() else float("nan"),
                below={tau: float(_below(t, tau).double().mean()) for tau in thresholds},
            )
        )
    return stats


@dataclass(frozen=True)
class WeightCount:
    """How many selected weights satisfy some condition, per tensor and in total.

    ``per_layer`` maps a tensor's name to ``(selected, count)``.
    """

    per_layer: dict[str, tuple[int, int]]
    selected: int
    total: int

    @property
    def fraction(self) -> float:
        return self.selected / self.total if self.total else float("nan")


def _count(model: nn.Module, scope: Scope, condition: Callable[[Tensor], Tensor]) -> WeightCount:
    per_layer = {}
    for sel in _selected(model, scope):
        t = sel.tensor()
        per_layer[sel.name] = (int(condition(t).sum()), t.numel())
    return WeightCount(
        per_layer=per_layer,
        selected=sum(s for s, _ in per_layer.values()),
        total=sum(n for _, n in per_layer.values()),
    )


def count_below(model: nn.Module, threshold: float, scope: Scope = "weights") -> WeightCount:
    """Weights with ``|w| < threshold`` (strictly; exact zeros count as below any positive tau)."""
    return _count(model, scope, lambda t: _below(t, threshold))


def zero_weights(model: nn.Module, scope: Scope = "weights") -> WeightCount:
    """Weights that are exactly zero."""
    return _count(model, scope, lambda t: t == 0)


@dataclass(frozen=True)
class Log2Histogram:
    """Histogram of ``log2|w|`` for the nonzero weights of one group.

    ``zeros`` counts exact zeros (``log2 0 = -inf``, so no bin holds them);
    ``under`` / ``over`` count nonzero weights outside ``edges``.
    """

    edges: np.ndarray
    counts: np.ndarray
    zeros: int
    under: int
    over: int

    @property
    def total(self) -> int:
        return int(self.counts.sum()) + self.zeros + self.under + self.over


def magnitudes(model: nn.Module, scope: Scope = "weights", group_by: GroupBy = "layer_type") -> dict[str, np.ndarray]:
    """``|w|`` (float64, flattened) of the tensors in ``scope``, grouped by layer type, by tensor, or all in one.

    The numbers behind ``log2_histograms``, for statistics it does not compute
    (quantiles, comparisons of two models weight by weight).
    """
    if group_by not in ("layer_type", "layer", "all"):
        raise ValueError(f"group_by must be 'layer_type', 'layer' or 'all', got {group_by!r}")
    groups: dict[str, list[np.ndarray]] = {}
    for sel in _selected(model, scope):
        key = {"layer_type": sel.layer_type, "layer": sel.name, "all": "all"}[group_by]
        groups.setdefault(key, []).append(sel.tensor().double().abs().flatten().numpy())
    return {k: np.concatenate(v) for k, v in groups.items()}


def log2_histograms(
    model: nn.Module,
    scope: Scope = "weights",
    group_by: GroupBy = "layer_type",
    edges: np.ndarray | None = None,
) -> dict[str, Log2Histogram]:
    """``log2|w|`` histograms, one per layer type (or per tensor, or one for all).

    Without ``edges`` the bins are one octave wide (integer edges) and span the
    smallest to the largest nonzero magnitude of the whole model, the same edges
    for every group so the histograms can be compared.
    """
    values = magnitudes(model, scope, group_by)
    logs = {k: np.log2(v[v > 0]) for k, v in values.items()}
    if edges is None:
        finite = [lg for lg in logs.values() if lg.size]
        low = np.floor(min(lg.min() for lg in finite)) if finite else -1.0
        high = np.ceil(max(lg.max() for lg in finite)) if finite else 0.0
        edges = np.arange(low, max(high, low + 1) + 1)
    edges = np.asarray(edges, dtype=np.float64)
    histograms = {}
    for key, lg in logs.items():
        inside = (lg >= edges[0]) & (lg <= edges[-1])
        counts, _ = np.histogram(lg[inside], bins=edges)
        histograms[key] = Log2Histogram(
            edges=edges,
            counts=counts,
            zeros=int((values[key] == 0).sum()),
            under=int((lg < edges[0]).sum()),
            over=int((lg > edges[-1]).sum()),
        )
    return histograms


# --------------------------------------------------------------------------- pruning


_ORDER_ATTR = "_gesturelib_parameter_order"


class ThresholdUnstructured(prune.BasePruningMethod):
    """Prune every entry with ``|w| < threshold``: the poster's rule, as a ``torch.nn.utils.prune`` method."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, threshold: float):
        if not threshold >= 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        self.threshold = threshold

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask * (~_below(t, self.threshold)).to(default_mask.dtype)


def _prune(model: nn.Module, scope: Scope, permanent: bool, method: type, **kwargs) -> WeightCount:
    targets = [(sel.module, sel.attr) for sel in _selected(model, scope)]
    if not targets:
        raise ValueError(f"the model has no tensors in scope {scope!r} to prune")
    for module, attr in targets:
        # torch's global pruning flattens every tensor with .view(-1), which fails on a
        # convolution weight in channels_last_3d format (as train.fit leaves a model on CPU).
        for name in (attr, f"{attr}_orig", f"{attr}_mask"):
            for store in (module._parameters, module._buffers):
                if store.get(name) is not None and not store[name].is_contiguous():
                    store[name].data = store[name].data.contiguous()
            if isinstance(module.__dict__.get(name), Tensor):  # a masked tensor of an earlier pruning
                module.__dict__[name] = module.__dict__[name].contiguous()
        # prune re-registers a pruned tensor last; make_permanent puts it back in its place.
        module.__dict__.setdefault(_ORDER_ATTR, list(module._parameters))
    prune.global_unstructured(targets, pruning_method=method, **kwargs)
    if permanent:
        make_permanent(model)
    return zero_weights(model, scope)


def prune_by_threshold(
    model: nn.Module, threshold: float, scope: Scope = "weights", permanent: bool = True
) -> WeightCount:
    """Zero every weight in ``scope`` with ``|w| < threshold``, in place; returns the sparsity after.

    ``permanent=False`` keeps the pruning masks (``weight_orig`` / ``weight_mask``)
    so a fine-tune keeps pruned weights at zero; call ``make_permanent`` afterwards.
    """
    return _prune(model, scope, permanent, ThresholdUnstructured, threshold=threshold)


def prune_global_magnitude(
    model: nn.Module, fraction: float, scope: Scope = "weights", permanent: bool = True
) -> WeightCount:
    """Zero the ``fraction`` of weights in ``scope`` with the smallest ``|w|``, ranked over the whole model.

    Exactly ``round(fraction * total)`` entries end up masked (weights already at
    zero are the first ones taken). Returns the sparsity after; ``permanent`` as in
    ``prune_by_threshold``.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    return _prune(model, scope, permanent, prune.L1Unstructured, amount=float(fraction))


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every pruning mask into its tensor (``prune.remove``), in place.

    Each pruned tensor becomes again the same ``nn.Parameter`` object under its
    original name and, when this module pruned it, in its original place among
    the module's parameters: state_dict keys and ``parameters()`` order are as
    before pruning, and optimizers still hold the same objects.
    ``prune.remove`` re-assigns the attribute, which keeps an RNN's list of flat
    weights pointing at the Parameter (pytorch/pytorch#33618); on GPU the
    new storage is no longer part of cuDNN's single weight buffer, so every
    recurrent layer is re-flattened (``flatten_parameters``).
    """
    for module in model.modules():
        hooks = [h for h in module._forward_pre_hooks.values() if isinstance(h, prune.BasePruningMethod)]
        for hook in hooks:
            prune.remove(module, hook._tensor_name)
        order = module.__dict__.pop(_ORDER_ATTR, None)
        params = module._parameters
        if order is not None and set(order) == set(params):
            reordered = [(name, params[name]) for name in order]
            params.clear()
            params.update(reordered)
    for module in model.modules():
        if isinstance(module, nn.RNNBase):
            module.flatten_parameters()
    return model


# --------------------------------------------------------------------------- lower precision


def to_fp16(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every floating parameter and buffer in half precision.

    Its inputs must be half precision too. The smallest positive fp16 number is
    2^-24 (a subnormal); magnitudes up to 2^-25 become zero.
    """
    return copy.deepcopy(model).half()


def quantize_int8(model: nn.Module) -> nn.Module:
    """A CPU copy of ``model`` with its Linear and LSTM layers dynamically quantised to int8.

    Weights are stored as int8 with a per-tensor scale; activations are quantised
    on the fly at each call. Convolutions and BatchNorm stay fp32: PyTorch's
    dynamic quantisation covers only Linear and recurrent layers.

    ``torch.ao.quantization.quantize_dynamic`` is deprecated in torch 2.14 in
    favour of torchao's ``quantize_``, but torchao is not a dependency here and
    its int8 configs quantise Linear layers only (not LSTM); so this stays on the
    torch API and silences its deprecation notices. If a future torch removes it,
    this raises a RuntimeError that says so.
    """
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError as err:  # pragma: no cover - depends on the torch release
        raise RuntimeError(
            f"this torch ({torch.__version__}) no longer has torch.ao.quantization.quantize_dynamic; "
            "int8 dynamic quantisation of LSTM layers needs a torch that has it"
        ) from err
    float_copy = copy.deepcopy(model).cpu().float().eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor.*deprecated")
        return quantize_dynamic(float_copy, {nn.Linear, nn.LSTM}, dtype=torch.qint8)


# --------------------------------------------------------------------------- files


def _write_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> int:
    """``write`` into a binary file that replaces ``path`` atomically; returns the file's size."""
    with files.atomic_path(path) as temporary, open(temporary, "wb") as f:
        write(f)
    return os.path.getsize(path)


def _state_dict(model_or_state: nn.Module | Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The state dict of a model (or a copy of a given one), on CPU, each tensor in its own storage.

    Cloning matters for honest sizes: ``torch.save`` writes a view's whole storage.
    """
    if isinstance(model_or_state, nn.Module):
        if prune.is_pruned(model_or_state):
            raise ValueError(
                "the model still carries pruning masks (weight_orig + weight_mask); "
                "call compress.make_permanent(model) before saving it"
            )
        state = model_or_state.state_dict()
    elif isinstance(model_or_state, Mapping):
        state = model_or_state
        for key, value in state.items():
            if not isinstance(value, Tensor):
                raise TypeError(f"state dict entry {key!r} is a {type(value).__name__}, not a tensor")
    else:
        raise TypeError(f"expected an nn.Module or a state dict, got {type(model_or_state).__name__}")
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def _cast_floats(state: dict[str, Tensor], dtype: torch.dtype) -> dict[str, Tensor]:
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}


def save_model(model_or_state: nn.Module | Mapping[str, Tensor], path: str | os.PathLike, fmt: str) -> int:
    """Write a model's weights to ``path`` in format ``fmt``; returns the file's size in bytes.

    Formats: ``"fp32"`` / ``"fp16"`` (``torch.save`` of the state dict, floating
    tensors in that precision), ``"sparse-fp32"`` / ``"sparse-fp16"``
    (``save_sparse``), ``"int8"`` (``torch.save`` of the state dict of
    ``quantize_int8(model)``; needs the module, not a state dict). The int8 file
    holds quantised tensors, which ``torch.load(weights_only=True)`` refuses:
    load it only if you trust it, into a model quantised the same way.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if fmt == "int8":
        if not isinstance(model_or_state, nn.Module):
            raise TypeError("fmt='int8' needs the nn.Module (it quantises its layers), not a state dict")
        _state_dict(model_or_state)  # refuses a model that still carries pruning masks
        state = quantize_int8(model_or_state).state_dict()
        return _write_atomic(path, lambda f: torch.save(state, f))
    state = _state_dict(model_or_state)
    if fmt.startswith("sparse-"):
        return save_sparse(state, path, values=fmt.removeprefix("sparse-"))
    state = _cast_floats(state, torch.float32 if fmt == "fp32" else torch.float16)
    return _write_atomic(path, lambda f: torch.save(state, f))


def saved_size_bytes(model_or_state: nn.Module | Mapping[str, Tensor], fmt: str) -> int:
    """Size in bytes of the file ``save_model(model_or_state, path, fmt)`` writes (it writes one to measure)."""
    with tempfile.TemporaryDirectory(prefix="gesturelib-size-") as folder:
        return save_model(model_or_state, Path(folder) / f"model.{fmt}", fmt)


# --------------------------------------------------------------------------- sparse format
#
# A tiny binary layout rather than numpy's .npz: an uncompressed .npz spends
# about 250 bytes per array (a .npy header and two zip headers), and a CSR
# tensor is three arrays; for the course preset's 20 K-parameter student that
# would be a third of the file and hide what sparsity saves.

SPARSE_FORMAT = "gesturelib-sparse"
SPARSE_VERSION = 1
SPARSE_MAGIC = b"GLSPARSE"

# Bytes of header one more array costs (its entry in the JSON header). Used only
# to choose dense or sparse per tensor; reported sizes are the file's real size.
_ARRAY_HEADER_BYTES = 24


class SparseFileError(ValueError):
    """A file that is not a readable sparse weights file; the message names the file and the problem."""


def _smallest_uint(max_value: int) -> type:
    """The smallest unsigned integer type that holds ``max_value``."""
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if max_value <= np.iinfo(dtype).max:
            return dtype
    raise ValueError(f"index {max_value} does not fit in 64 bits")


def _encode(tensor: Tensor) -> tuple[str, dict[str, np.ndarray]]:
    """Pick the smallest layout for one tensor: ('dense' | 'csr' | 'coo', its arrays)."""
    dense = {"dense": tensor.numpy()}
    if not tensor.is_floating_point() or tensor.dim() == 0:
        return "dense", dense
    if tensor.dim() == 1:
        (indices,) = np.nonzero(tensor.numpy())
        sparse = {
            "values": tensor.numpy()[indices],
            "indices": indices.astype(_smallest_uint(max(tensor.numel() - 1, 0))),
        }
        layout = "coo"
    else:
        # torch's CSR conversion does the compression; only the index types are narrowed here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Sparse CSR tensor support is in beta")
            csr = tensor.reshape(tensor.shape[0], -1).to_sparse_csr()
        columns = tensor.numel() // tensor.shape[0]
        sparse = {
            "values": csr.values().numpy(),
            "indices": csr.col_indices().numpy().astype(_smallest_uint(max(columns - 1, 0))),
            "indptr": csr.crow_indices().numpy().astype(_smallest_uint(csr.values().numel())),
        }
        layout = "csr"

    def cost(arrays: dict[str, np.ndarray]) -> int:
        return sum(a.nbytes + _ARRAY_HEADER_BYTES for a in arrays.values())

    return (layout, sparse) if cost(sparse) < cost(dense) else ("dense", dense)


def save_sparse(state_dict: Mapping[str, Tensor], path: str | os.PathLike, values: str = "fp32") -> int:
    """Write a state dict in the sparse format; returns the file's size in bytes.

    Layout (all integers little-endian):

    * 8 bytes ``GLSPARSE``; a uint32 ``n``; ``n`` bytes of UTF-8 JSON, the header;
    * then the payload: every array's raw bytes, back to back, in header order.

    The header is ``{"format": "gesturelib-sparse", "version": 1, "values":
    "fp32"|"fp16", "tensors": [{"name", "layout", "shape", "dtype", "arrays":
    [[array name, numpy dtype string, length], ...]}, ...]}``. Each tensor is
    stored in whichever layout is smallest:

    * ``dense``: array ``dense``, every entry;
    * ``csr`` (tensors of 2 or more dimensions, viewed as ``shape[0]`` rows):
      ``values`` (the nonzeros, row by row), ``indices`` (their column) and
      ``indptr`` (row ``r``'s nonzeros are ``indptr[r]:indptr[r+1]``);
    * ``coo`` (1-D tensors): ``values`` and ``indices``.

    ``indices`` and ``indptr`` use the smallest unsigned type that holds their
    largest value (uint8, uint16 or uint32). ``values="fp16"`` rounds every
    floating tensor to half precision before choosing what is nonzero (weights
    below fp16's 2^-24 become zeros and are not stored). Integer buffers stay
    dense in their dtype.
    """
    if values not in ("fp32", "fp16"):
        raise ValueError(f"values must be 'fp32' or 'fp16', got {values!r}")
    values_dtype = torch.float16 if values == "fp16" else torch.float32
    header: dict = {"format": SPARSE_FORMAT, "version": SPARSE_VERSION, "values": values, "tensors": []}
    payload: list[bytes] = []
    for name, tensor in _state_dict(state_dict).items():
        # Cast first, so a weight that fp16 flushes to zero is not stored as a "nonzero".
        layout, arrays = _encode(tensor.to(values_dtype) if tensor.is_floating_point() else tensor)
        entry = {
            "name": name,
            "layout": layout,
            "shape": list(tensor.shape),
            "dtype": str(tensor.dtype).removeprefix("torch."),
            "arrays": [],
        }
        for part, array in arrays.items():
            little = array.astype(array.dtype.newbyteorder("<"), copy=False)
            entry["arrays"].append([part, little.dtype.str, int(little.size)])
            payload.append(little.tobytes())
        header["tensors"].append(entry)
    header_bytes = json.dumps(header, separators=(",", ":")).encode()

    def write(f: IO[bytes]) -> None:
        f.write(SPARSE_MAGIC)
        f.write(len(header_bytes).to_bytes(4, "little"))
        f.write(header_bytes)
        for chunk in payload:
            f.write(chunk)

    return _write_atomic(Path(path), write)


def load_sparse(path: str | os.PathLike) -> dict[str, Tensor]:
    """Read a file written by ``save_sparse`` back into a dense state dict.

    With fp32 values, float32 tensors come back equal to the ones saved (the
    sign of a zero is not kept: -0.0 comes back as 0.0); with fp16 values they
    equal the saved tensors rounded to fp16, returned in their original dtype.
    Integer tensors come back exactly.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:8] != SPARSE_MAGIC:
        raise SparseFileError(f"{path}: does not start with {SPARSE_MAGIC!r}; not a {SPARSE_FORMAT} file")
    size = int.from_bytes(data[8:12], "little")
    try:
        header = json.loads(data[12 : 12 + size])
    except (ValueError, UnicodeDecodeError) as err:
        raise SparseFileError(f"{path}: the header is not valid JSON ({err})") from err
    if header.get("format") != SPARSE_FORMAT or header.get("version") != SPARSE_VERSION:
        raise SparseFileError(
            f"{path}: format {header.get('format')!r} version {header.get('version')!r} is not supported"
        )
    offset = 12 + size
    state = {}
    for entry in header["tensors"]:
        arrays = {}
        for part, dtype, count in entry["arrays"]:
            dtype = np.dtype(dtype)
            if offset + dtype.itemsize * count > len(data):
                raise SparseFileError(f"{path}: truncated in tensor {entry['name']!r}")
            arrays[part] = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += dtype.itemsize * count
        try:
            state[entry["name"]] = _decode(entry, arrays)
        except (KeyError, ValueError, RuntimeError, IndexError) as err:
            raise SparseFileError(f"{path}: tensor {entry['name']!r} is damaged ({err!r})") from err
    if offset != len(data):
        raise SparseFileError(f"{path}: {len(data) - offset} unexpected bytes after the last tensor")
    return state


def _decode(entry: dict, arrays: dict[str, np.ndarray]) -> Tensor:
    """One dense tensor from its header entry and its (little-endian, read-only) arrays."""
    dtype = getattr(torch, entry["dtype"])
    shape = tuple(entry["shape"])
    if entry["layout"] == "dense":
        native = arrays["dense"].astype(arrays["dense"].dtype.newbyteorder("="))  # a writable copy
        return torch.from_numpy(native).to(dtype).reshape(shape)
    values = torch.from_numpy(arrays["values"].astype(np.float32)).to(dtype)
    indices = torch.from_numpy(arrays["indices"].astype(np.int64))
    if entry["layout"] == "coo":
        dense = torch.zeros(shape, dtype=dtype)
        dense[indices] = values
        return dense
    if entry["layout"] == "csr":
        indptr = torch.from_numpy(arrays["indptr"].astype(np.int64))
        size = (shape[0], int(np.prod(shape[1:])))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Sparse CSR tensor support is in beta")
            # check_invariants: indices from a damaged file raise instead of reading out of bounds.
            matrix = torch.sparse_csr_tensor(indptr, indices, values, size=size, check_invariants=True)
            return matrix.to_dense().reshape(shape)
    raise ValueError(f"unknown layout {entry['layout']!r}")
