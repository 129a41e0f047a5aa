"""The one settings table: every training setting, its range, label and URL key.

`RunConfig` is the run's identity: two viewers with equal configs share one run
(`RunConfig.key()`). Each field carries a `Setting` spec in its metadata, which drives
validation, the widgets of the pages and the URL parameters, so no setting is defined twice.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

from bn_core.i18n import N_, _
from bn_core.markdown import literal, url_value

TOY_DATASETS = ("moons", "circles", "blobs", "xor", "spiral")
IMAGE_DATASETS = ("mnist-subset", "mnist", "fashion-mnist")
REGRESSION_DATASETS = ("deep-linear",)
DATASETS = TOY_DATASETS + IMAGE_DATASETS + REGRESSION_DATASETS
# A 2-D data set a student uploaded or drew, named by its content (bn_core/data/custom.py):
# a run of it is a toy run; its points travel with the run's start command.
CUSTOM_DATASET = re.compile(r"custom:[0-9a-f]{16}")


def is_custom_dataset(name) -> bool:
    return isinstance(name, str) and CUSTOM_DATASET.fullmatch(name) is not None

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
NET_KINDS = ("plain", "bn", "noisy_bn", "noisy_plain", "norm_only", "affine_only", "layernorm",
             "groupnorm")
ARCHITECTURES = ("mlp", "cnn")
CNN_MAX_DEPTH = 4       # each conv layer halves the 28x28 image: 28, 14, 7, 3 -> 1 after 4
CNN_MAX_CHANNELS = 32   # wider conv layers are too slow to train live on 2 cores
PLACEMENTS = ("before", "after")
AFFINE_MODES = ("learnable", "frozen", "undo")
WHITENING = ("none", "standardize", "pca", "zca")
# Initial weights, named by what they are (fan_in, fan_out: a layer's inputs and outputs).
INITS = ("default", "he", "xavier", "small", "scaled")
PERCENTILES = (15, 50, 85)
MAX_PERCENTILES = 9  # percentile lines one chart can still tell apart

BN_NETS = ("bn", "noisy_bn", "norm_only")  # the nets with a BN layer, which needs batch statistics
MIN_BN_BATCH = 2
BN_BATCH_REASON = N_("BN in training mode needs at least 2 examples per batch: the variance of "
                     "a single value is 0, so BN would output beta whatever the input")
# The batch-size help with a BN net (one message, so it is translated whole).
BN_BATCH_HELP = N_("At least 2: BN in training mode needs at least 2 examples per batch: the "
                   "variance of a single value is 0, so BN would output beta whatever the input "
                   "(the Inside the BN layer page shows batch size 1).")
assert BN_BATCH_HELP == (f"At least {MIN_BN_BATCH}: {BN_BATCH_REASON} (the Inside the BN layer "
                         "page shows batch size 1)."), "keep BN_BATCH_HELP in step with the reason"

NET_LABELS = {  # English; shown translated (bn_core.figures.style.net_label)
    "plain": N_("Plain"),
    "bn": "BN",
    "noisy_bn": N_("Noisy BN"),
    "noisy_plain": N_("Plain + noise"),
    "norm_only": N_("Normalise only"),
    "affine_only": N_("Scale and shift only"),
    "layernorm": "LayerNorm",
    "groupnorm": "GroupNorm",
}

# How choices are shown to students (the URL keeps the short names).
CHOICE_LABELS = {
    "dataset": {"moons": N_("two moons"), "circles": N_("circles"),
                "blobs": N_("Gaussian blobs (3)"), "xor": "XOR", "spiral": N_("spiral (3 arms)"),
                "mnist-subset": N_("MNIST: bundled 5,000-digit subset"),
                "mnist": N_("MNIST (full)"), "fashion-mnist": "Fashion-MNIST",
                "deep-linear": N_("deep linear regression")},
    "nets": NET_LABELS,
    "whitening": {"none": N_("none"), "standardize": N_("standardise"),
                  "pca": N_("PCA whitening"), "zca": N_("ZCA whitening")},
    "placement": {"before": N_("before the nonlinearity"), "after": N_("after the nonlinearity")},
    "affine": {"learnable": N_("learnable"), "frozen": N_("frozen at set values"),
               "undo": N_("set to undo BN")},
    "arch": {"mlp": N_("fully connected (MLP)"), "cnn": N_("convolutional (CNN)")},
    "init": {"default": N_("N(0, 1/fan_in) (LeCun)"), "he": N_("He: N(0, 2/fan_in)"),
             "xavier": N_("Xavier: N(0, 2/(fan_in + fan_out))"),
             "small": N_("small: N(0, 0.01^2)"), "scaled": N_("N(0, scale^2/fan_in), scale below")},
}

# Settings added after run keys were first shared: left out of `RunConfig.key()` while at
# their defaults, so every run key (and every link) made before they existed stays the same.
KEY_OMITS_AT_DEFAULT = ("arch", "groups", "init")


@dataclass(frozen=True)
class Setting:
    """What one setting is: its type, allowed values, label, help text and URL key."""

    name: str
    kind: type
    default: Any
    label: str
    help: str = ""
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None
    url: str = ""
    log: bool = False  # shown on a log scale
    item_kind: type | None = None  # for tuple settings
    max_items: int | None = None  # for tuple settings: the longest list allowed
    note: str = ""  # why the range is what it is, told whenever a value is refused or clamped

    def allowed(self) -> str:
        """The allowed range or choices, in words (in the current language), for error
        messages and the notices of clamped or refused URL values."""
        if not self.note:
            return self._range_words()
        return _("{allowed}; {reason}").format(allowed=self._range_words(), reason=_(self.note))

    def _range_words(self) -> str:
        if self.choices is not None:
            return _("one of {choices}").format(choices=", ".join(str(c) for c in self.choices))
        if self.kind is bool:
            return _("true or false")
        if self.kind is tuple:
            values = dict(kind=self.item_kind.__name__, lo=self.lo, hi=self.hi,
                          most=self.max_items)
            if self.lo is not None and self.max_items is not None:
                return _("a list of {kind} each between {lo:g} and {hi:g}, at most {most} "
                         "values").format(**values)
            if self.lo is not None:
                return _("a list of {kind} each between {lo:g} and {hi:g}").format(**values)
            if self.max_items is not None:
                return _("a list of {kind}, at most {most} values").format(**values)
            return _("a list of {kind}").format(**values)
        return _("between {lo:g} and {hi:g}").format(lo=self.lo, hi=self.hi)

    def check(self, value: Any) -> Any:
        """Return the value in canonical form, or raise ValueError naming the field."""
        bad = ValueError(_("{name}: got {value!r}; allowed: {allowed}").format(
            name=self.name, value=value, allowed=self.allowed()))
        if self.kind is tuple:
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise bad
            items = tuple(value)
            if not items:
                raise bad
            if self.choices is not None:
                if any(i not in self.choices for i in items) or len(set(items)) != len(items):
                    raise bad
                return items
            try:
                items = tuple(self.item_kind(i) for i in items)
                if self.item_kind is float:
                    items = tuple(i + 0.0 for i in items)  # -0.0 -> 0.0, as above
            except (TypeError, ValueError):
                raise bad from None
            for i in items:
                if isinstance(i, float) and not math.isfinite(i):
                    raise bad
                if self.lo is not None and not (self.lo <= i <= self.hi):
                    raise bad
            items = tuple(sorted(set(items)))  # a set of numbers: one canonical order, one run key
            if self.max_items is not None and len(items) > self.max_items:
                raise bad
            return items
        if self.kind is bool:
            if not isinstance(value, bool):
                raise bad
            return value
        if self.choices is not None:
            if value not in self.choices:
                raise bad
            return value
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or (isinstance(value, float) and not math.isfinite(value)) or value != int(value):
                raise bad
            value = int(value)
        elif self.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad
            value = float(value) + 0.0  # -0.0 -> 0.0: equal configs must have equal keys
            if not math.isfinite(value):
                raise bad
        if self.lo is not None and not (self.lo <= value <= self.hi):
            raise bad
        return value

    def coerce(self, raw: str) -> tuple[Any, str | None]:
        """Parse a URL string into a valid value; clamp or reset with a notice if needed.

        Never raises: returns (value, notice) where notice is None if `raw` was valid. Notices
        are Markdown; the user's text is quoted with `literal`, so nothing in it renders.
        """
        text = str(raw)[:200]
        key = self.url or self.name
        reset = (self.default, _("{value} is not valid ({allowed}); using the default "
                                 "{default}.").format(value=url_value(key, text),
                                                      allowed=self.allowed(),
                                                      default=self.format(self.default)))
        try:
            if self.kind is bool:
                low = text.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True, None
                if low in ("0", "false", "no", "off"):
                    return False, None
                return reset
            if self.kind is tuple:
                items = [t for t in text.split(",") if t.strip()]
                if self.choices is None:
                    return self._coerce_numbers(items, reset)
                return self.check(tuple(t.strip() for t in items)), None
            if self.choices is not None:
                return self.check(self.kind(text.strip())), None
            number = float(text.strip())
            if not math.isfinite(number):
                return reset
            if self.kind is int:
                number = round(number)
            clamped = min(max(number, self.lo), self.hi)
            value = self.check(self.kind(clamped))
            if clamped != number or (self.kind is int and float(text.strip()) != number):
                return value, _("{value} is outside the allowed range ({allowed}); using "
                                "{used}.").format(value=url_value(key, text),
                                                  allowed=self.allowed(),
                                                  used=self.format(value))
            return value, None
        except (ValueError, TypeError, OverflowError):
            return reset

    def _coerce_numbers(self, items: list[str], reset) -> tuple[Any, str | None]:
        """A list of numbers from the URL: clamped, sorted, de-duplicated and cut to
        `max_items` values spread over the list (its ends kept), saying what was changed."""
        vals = [self.item_kind(float(t)) for t in items]
        if not vals or not all(math.isfinite(v) for v in vals):
            return reset
        clamped = [min(max(v, self.lo), self.hi) for v in vals]
        distinct = sorted(set(v + 0.0 if isinstance(v, float) else v for v in clamped))
        changes = []
        if clamped != vals:
            changes.append(_("values outside {lo:g}-{hi:g} clamped").format(lo=self.lo,
                                                                             hi=self.hi))
        if sorted(clamped) != clamped:
            changes.append(_("sorted"))
        if len(distinct) < len(clamped):
            changes.append(_("duplicates removed"))
        if self.max_items is not None and len(distinct) > self.max_items:
            last = len(distinct) - 1
            picks = sorted({round(i * last / (self.max_items - 1)) for i in range(self.max_items)})
            changes.append(_("cut from {n} different values to {most} spread from the smallest "
                             "to the largest").format(n=len(distinct), most=self.max_items))
            distinct = [distinct[i] for i in picks]
        value = self.check(tuple(distinct))
        if not changes:
            return value, None
        # i18n: {changes} is a list of what was done ("sorted", "duplicates removed", ...)
        return value, _("{setting}: {changes}; using {used}.").format(
            setting=literal(self.url or self.name), changes=_(", ").join(changes),
            used=self.format(value))

    def format(self, value: Any) -> str:
        """The value as it appears in a URL."""
        if self.kind is tuple:
            return ",".join(_number_text(v) if isinstance(v, float) else str(v) for v in value)
        if self.kind is bool:
            return "1" if value else "0"
        if self.kind is float:
            return _number_text(value)
        return str(value)


def _number_text(value: float) -> str:
    """A float as short as it can be written and still read back exactly."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def setting(default, label, url, help="", **kw):
    """A dataclass field carrying its `Setting` spec (name and kind are filled in later)."""
    return field(default=default, metadata={"spec": dict(default=default, label=label, url=url,
                                                         help=help, **kw)})


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines what a run trains; equal configs give equal runs."""

    # data
    dataset: str = setting("moons", N_("Data set"), "data", choices=DATASETS,
                           help=N_("2-D toy sets, MNIST-style images, or a deep linear "
                                   "regression."))
    n_samples: int = setting(400, N_("Training points"), "n", lo=40, hi=5000,
                             help=N_("Size of the 2-D training set."))
    noise: float = setting(0.15, N_("Noise"), "noise", lo=0.0, hi=1.0,
                           help=N_("Spread of the 2-D points around their pattern (data units)."))
    far_offset: float = setting(0.0, N_("Distance from the origin"), "far", lo=0.0, hi=20.0,
                                help=N_("Moves all 2-D data to (d, d): far from where random "
                                     "boundaries (bias 0) pass."))
    whitening: str = setting("none", N_("Whitening"), "white", choices=WHITENING,
                             help=N_("Input transform fitted on the training data."))
    shift_x: float = setting(0.0, N_("Test shift x"), "sx", lo=-5.0, hi=5.0)
    shift_y: float = setting(0.0, N_("Test shift y"), "sy", lo=-5.0, hi=5.0)
    rotate_deg: float = setting(0.0, N_("Test rotation (degrees)"), "rot", lo=-180.0, hi=180.0)
    scale: float = setting(1.0, N_("Test scale"), "scale", lo=0.25, hi=4.0)
    binarize: bool = setting(False, N_("Binary images"), "bin",
                             help=N_("Threshold pixels at 0.5, as the BN paper did."))
    shuffle: float = setting(1.0, N_("Shuffling"), "shuffle", lo=0.0, hi=1.0,
                             help=N_("0 = batches in class order, 1 = fully shuffled."))
    # model
    arch: str = setting("mlp", N_("Architecture"), "arch", choices=ARCHITECTURES,
                        help=N_("Fully connected layers, or 3x3 convolutions with 2x2 max pooling "
                             "(image data only; hidden layers = conv layers, units = channels)."))
    nets: tuple = setting(("plain", "bn"), N_("Nets trained side by side"), "nets",
                          choices=NET_KINDS, item_kind=str)
    depth: int = setting(3, N_("Hidden layers"), "depth", lo=1, hi=30)
    width: int = setting(100, N_("Units per layer"), "width", lo=1, hi=512)
    activation: str = setting("sigmoid", N_("Activation"), "act", choices=ACTIVATIONS)
    placement: str = setting("before", N_("BN placement"), "place", choices=PLACEMENTS,
                             help=N_("BN before the nonlinearity (the paper) or after it."))
    affine: str = setting("learnable", N_("gamma and beta"), "affine", choices=AFFINE_MODES,
                          help=N_("Learnable, frozen at the values below, or set to undo BN."))
    gamma_value: float = setting(1.0, N_("Frozen gamma"), "gamma", lo=0.0, hi=5.0)
    beta_value: float = setting(0.0, N_("Frozen beta"), "beta", lo=-5.0, hi=5.0)
    init: str = setting("default", N_("Initial weights"), "winit", choices=INITS,
                        help=N_("How the weights are drawn: N(0, 1/fan_in), He's N(0, 2/fan_in) "
                             "for ReLU, Xavier's N(0, 2/(fan_in + fan_out)), a small "
                             "N(0, 0.01^2), or N(0, scale^2/fan_in) with the scale below."))
    init_scale: float = setting(1.0, N_("Init scale (scaled init only)"), "init", lo=0.01,
                                hi=20.0, log=True,
                                help=N_("Used when the initial weights are 'scaled': "
                                     "W ~ N(0, scale^2/fan_in). Scale 1 is N(0, 1/fan_in); "
                                     "He's init is scale sqrt(2) = 1.41, not 2."))
    groups: int = setting(4, N_("GroupNorm groups"), "groups", lo=1, hi=512,
                          help=N_("GroupNorm normalises each group of units (channels) together: "
                               "1 group = LayerNorm. Uses the largest divisor of the width "
                               "that is not above this number."))
    dropout: float = setting(0.0, N_("Dropout"), "drop", lo=0.0, hi=0.9)
    # optimisation
    lr: float = setting(0.5, N_("Learning rate"), "lr", lo=1e-4, hi=10.0, log=True)
    lr_multiplier: float = setting(1.0, N_("Learning-rate multiplier"), "lrx", lo=0.1, hi=100.0,
                                   log=True, help=N_("The BN paper's x5 and x30."))
    momentum: float = setting(0.0, N_("Momentum"), "mom", lo=0.0, hi=0.99)
    batch_size: int = setting(60, N_("Batch size"), "batch", lo=1, hi=2000)
    steps: int = setting(3000, N_("Training steps"), "steps", lo=1, hi=200_000)
    seed: int = setting(0, N_("Seed"), "seed", lo=0, hi=2**31 - 1)
    # probes
    probe_every: int = setting(100, N_("Probe every (steps)"), "pe", lo=1, hi=10_000)
    eval_every: int = setting(100, N_("Evaluate every (steps)"), "ee", lo=1, hi=10_000)
    percentiles: tuple = setting(PERCENTILES, N_("Percentiles"), "pct", lo=0.0, hi=100.0,
                                 item_kind=float, max_items=MAX_PERCENTILES,
                                 help=N_("Up to 9 values between 0 and 100, e.g. 15,50,85."))
    probe_unit: int = setting(0, N_("Probed unit"), "unit", lo=0, hi=511)
    ics_every: int = setting(0, N_("Measure ICS every (steps, 0 = off)"), "ics", lo=0, hi=10_000)
    grid_resolution: int = setting(60, N_("Decision grid resolution"), "grid", lo=0, hi=200)
    heldout_size: int = setting(1000, N_("Held-out probe set"), "held", lo=10, hi=10_000)
    pace: float = setting(0.0, N_("Speed limit (steps/s, 0 = none)"), "pace", lo=0.0, hi=5000.0)

    def __post_init__(self):
        for f in fields(self):
            if f.name == "dataset" and is_custom_dataset(self.dataset):
                continue  # not one of the table's choices: an uploaded data set
            object.__setattr__(self, f.name, SETTINGS[f.name].check(getattr(self, f.name)))
        if self.init == "default" and self.init_scale != 1.0:
            # a scale with the default rule is the scaled rule (as links and code meant it
            # before `init` existed): N(0, scale^2/fan_in)
            object.__setattr__(self, "init", "scaled")
        if self.init != "scaled":  # the scale then plays no part: equal nets, equal keys
            object.__setattr__(self, "init_scale", 1.0)
        elif self.init_scale == 1.0:  # N(0, 1/fan_in) is the default rule: one net, one key
            object.__setattr__(self, "init", "default")
        if self.probe_unit >= self.width:
            raise ValueError(f"probe_unit: got {self.probe_unit}; allowed: between 0 and "
                             f"{self.width - 1} (the layer has {self.width} units)")
        setting_for("batch_size", self.nets).check(self.batch_size)
        if self.arch == "cnn":
            if self.dataset not in IMAGE_DATASETS:
                raise ValueError(f"arch: got 'cnn' with dataset {self.dataset!r}; allowed: a "
                                 f"convolutional net needs images ({', '.join(IMAGE_DATASETS)})")
            if self.depth > CNN_MAX_DEPTH:
                raise ValueError(f"depth: got {self.depth}; allowed: between 1 and "
                                 f"{CNN_MAX_DEPTH} conv layers (each halves the 28x28 image)")
            if self.width > CNN_MAX_CHANNELS:
                raise ValueError(f"width: got {self.width}; allowed: between 1 and "
                                 f"{CNN_MAX_CHANNELS} channels per conv layer")

    @property
    def effective_lr(self) -> float:
        return self.lr * self.lr_multiplier

    @property
    def is_toy(self) -> bool:
        return self.dataset in TOY_DATASETS or is_custom_dataset(self.dataset)

    @property
    def is_regression(self) -> bool:
        return self.dataset in REGRESSION_DATASETS

    def key(self) -> str:
        """Canonical identity of the run: sorted JSON of every field (but the later settings
        of KEY_OMITS_AT_DEFAULT while at their defaults, so older keys stay valid)."""
        values = self.to_dict()
        del values["pace"]  # a run's speed is a control of it, not what it trains
        for name in KEY_OMITS_AT_DEFAULT:
            if values[name] == SETTINGS[name].default:
                del values[name]
        return json.dumps(values, sort_keys=True, separators=(",", ":"))

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        unknown = set(values) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        if "init_scale" in values and "init" not in values:
            values = {**values, "init": "scaled"}  # saved before `init` existed: same net
        return cls(**values)

    def replace(self, **changes) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    def to_query(self, only_changed: bool = True) -> dict[str, str]:
        """URL parameters for this config (by default only those that differ from defaults)."""
        out = {}
        for name, spec in SETTINGS.items():
            value = getattr(self, name)
            if not only_changed or value != spec.default:
                out[spec.url] = spec.format(value)
        return out

    @classmethod
    def from_query(cls, query: dict[str, str], base: "RunConfig | None" = None
                   ) -> tuple["RunConfig", list[str]]:
        """A config from URL parameters over `base`; never raises. Returns (config, notices)."""
        base = base or cls()
        query = upgrade_query(query)
        values, notices = base.to_dict(), []
        for name, spec in SETTINGS.items():
            if spec.url in query:
                value, notice = spec.coerce(query[spec.url])
                values[name] = value
                if notice:
                    notices.append(notice)
        width, unit = values["width"], values["probe_unit"]
        if unit >= width:
            notices.append(f"{literal(f'unit={unit}')} is beyond the layer's {width} units; "
                           f"using unit {width - 1}.")
            values["probe_unit"] = width - 1
        batch, smallest = values["batch_size"], smallest_batch(values["nets"])
        if batch < smallest:
            notices.append(f"{literal(f'batch={batch}')} cannot train a BN net: "
                           f"{BN_BATCH_REASON}; using {smallest}.")
            values["batch_size"] = smallest
        if values["arch"] == "cnn":
            if values["dataset"] not in IMAGE_DATASETS:
                notices.append(f"`arch=cnn` needs image data (the data set is "
                               f"{values['dataset']}); using the fully connected net.")
                values["arch"] = "mlp"
            else:
                for name, hi, what in (("depth", CNN_MAX_DEPTH, "conv layers"),
                                       ("width", CNN_MAX_CHANNELS, "channels per conv layer")):
                    if values[name] > hi:
                        notices.append(f"`{SETTINGS[name].url}={values[name]}` is more than a "
                                       f"convolutional net allows ({hi} {what}); using {hi}.")
                        values[name] = hi
                if values["probe_unit"] >= values["width"]:
                    values["probe_unit"] = values["width"] - 1
        return cls(**values), notices


def upgrade_query(query) -> dict[str, str]:
    """URL parameters of older links in today's form, so an old link gives the same run.

    Before the `init` setting existed, `init=<scale>` alone meant W ~ N(0, scale^2/fan_in):
    such a link now also says `winit=scaled`."""
    query = {k: query[k] for k in query}
    scale_key, init_key = SETTINGS["init_scale"].url, SETTINGS["init"].url
    if scale_key in query and init_key not in query:
        query[init_key] = "scaled"
    return query


def _build_settings() -> dict[str, Setting]:
    table = {}
    hints = {"str": str, "int": int, "float": float, "bool": bool, "tuple": tuple}
    for f in fields(RunConfig):
        spec = dict(f.metadata["spec"])
        table[f.name] = Setting(name=f.name, kind=hints[str(f.type)], **spec)
    return table


SETTINGS: dict[str, Setting] = _build_settings()


def smallest_batch(nets) -> int:
    """The smallest batch the nets can train on: 2 when one has BN (see BN_BATCH_REASON)."""
    return MIN_BN_BATCH if any(n in BN_NETS for n in nets) else 1


def setting_for(name: str, nets) -> Setting:
    """The table's spec of `name` for a run of these nets: with a BN net the batch size starts
    at 2, and the reason is told wherever a smaller one is refused or clamped."""
    spec = SETTINGS[name]
    if name == "batch_size" and smallest_batch(nets) > spec.lo:
        return dataclasses.replace(spec, lo=smallest_batch(nets), note=BN_BATCH_REASON,
                                   help=BN_BATCH_HELP)
    return spec
