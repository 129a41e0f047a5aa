"""The one settings table: every training setting, its range, label and URL key.

`RunConfig` is the run's identity: two viewers with equal configs share one run
(`RunConfig.key()`). Each field carries a `Setting` spec in its metadata, which drives
validation, the widgets of the pages and the URL parameters, so no setting is defined twice.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

TOY_DATASETS = ("moons", "circles", "blobs", "xor", "spiral")
IMAGE_DATASETS = ("mnist-subset", "mnist", "fashion-mnist")
REGRESSION_DATASETS = ("deep-linear",)
DATASETS = TOY_DATASETS + IMAGE_DATASETS + REGRESSION_DATASETS

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
NET_KINDS = ("plain", "bn", "noisy_bn", "noisy_plain")
PLACEMENTS = ("before", "after")
AFFINE_MODES = ("learnable", "frozen", "undo")
WHITENING = ("none", "standardize", "pca", "zca")
# Initial weights, named by what they are (fan_in, fan_out: a layer's inputs and outputs).
INITS = ("default", "he", "xavier", "small", "scaled")
PERCENTILES = (15, 50, 85)

NET_LABELS = {
    "plain": "Plain",
    "bn": "BN",
    "noisy_bn": "Noisy BN",
    "noisy_plain": "Plain + noise",
}

# How choices are shown to students (the URL keeps the short names).
CHOICE_LABELS = {
    "dataset": {"moons": "two moons", "circles": "circles", "blobs": "Gaussian blobs (3)",
                "xor": "XOR", "spiral": "spiral (3 arms)",
                "mnist-subset": "MNIST: bundled 5,000-digit subset", "mnist": "MNIST (full)",
                "fashion-mnist": "Fashion-MNIST", "deep-linear": "deep linear regression"},
    "nets": NET_LABELS,
    "whitening": {"none": "none", "standardize": "standardise", "pca": "PCA whitening",
                  "zca": "ZCA whitening"},
    "placement": {"before": "before the nonlinearity", "after": "after the nonlinearity"},
    "affine": {"learnable": "learnable", "frozen": "frozen at set values",
               "undo": "set to undo BN"},
    "init": {"default": "N(0, 1/fan_in) (LeCun)", "he": "He: N(0, 2/fan_in)",
             "xavier": "Xavier: N(0, 2/(fan_in + fan_out))", "small": "small: N(0, 0.01^2)",
             "scaled": "N(0, scale^2/fan_in), scale below"},
}


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

    def allowed(self) -> str:
        """The allowed range or choices, in words, for error messages."""
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is tuple:
            parts = [f"a list of {self.item_kind.__name__}"]
            if self.lo is not None:
                parts.append(f"each between {self.lo:g} and {self.hi:g}")
            return " ".join(parts)
        return f"between {self.lo:g} and {self.hi:g}"

    def check(self, value: Any) -> Any:
        """Return the value in canonical form, or raise ValueError naming the field."""
        bad = ValueError(f"{self.name}: got {value!r}; allowed: {self.allowed()}")
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

        Never raises: returns (value, notice) where notice is None if `raw` was valid.
        """
        text = str(raw)[:200]
        shown = text if len(text) <= 40 else text[:37] + "..."
        # Notices are shown as Markdown: quote the user's text as code so that nothing in it
        # (links, emphasis, HTML) is ever rendered.
        shown = shown.replace("`", "'").replace("\n", " ")
        reset = (self.default, f"`{self.url or self.name}={shown}` is not valid "
                 f"({self.allowed()}); using the default {self.format(self.default)}.")
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
                    vals = [self.item_kind(float(t)) for t in items]
                    clamped = tuple(min(max(v, self.lo), self.hi) for v in vals)
                    value = self.check(clamped)
                    if clamped != tuple(vals):
                        return value, (f"`{self.url or self.name}` had values outside "
                                       f"{self.lo:g}-{self.hi:g}; clamped to {self.format(value)}.")
                    return value, None
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
                return value, (f"`{self.url or self.name}={shown}` is outside the allowed range "
                               f"({self.allowed()}); using {self.format(value)}.")
            return value, None
        except (ValueError, TypeError, OverflowError):
            return reset

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
    dataset: str = setting("moons", "Data set", "data", choices=DATASETS,
                           help="2-D toy sets, MNIST-style images, or a deep linear regression.")
    n_samples: int = setting(400, "Training points", "n", lo=40, hi=5000,
                             help="Size of the 2-D training set.")
    noise: float = setting(0.15, "Noise", "noise", lo=0.0, hi=1.0,
                           help="Spread of the 2-D points around their pattern (data units).")
    far_offset: float = setting(0.0, "Distance from the origin", "far", lo=0.0, hi=20.0,
                                help="Moves all 2-D data to (d, d): far from where random "
                                     "boundaries (bias 0) pass.")
    whitening: str = setting("none", "Whitening", "white", choices=WHITENING,
                             help="Input transform fitted on the training data.")
    shift_x: float = setting(0.0, "Test shift x", "sx", lo=-5.0, hi=5.0)
    shift_y: float = setting(0.0, "Test shift y", "sy", lo=-5.0, hi=5.0)
    rotate_deg: float = setting(0.0, "Test rotation (degrees)", "rot", lo=-180.0, hi=180.0)
    scale: float = setting(1.0, "Test scale", "scale", lo=0.25, hi=4.0)
    binarize: bool = setting(False, "Binary images", "bin",
                             help="Threshold pixels at 0.5, as the BN paper did.")
    shuffle: float = setting(1.0, "Shuffling", "shuffle", lo=0.0, hi=1.0,
                             help="0 = batches in class order, 1 = fully shuffled.")
    # model
    nets: tuple = setting(("plain", "bn"), "Nets trained side by side", "nets", choices=NET_KINDS,
                          item_kind=str)
    depth: int = setting(3, "Hidden layers", "depth", lo=1, hi=30)
    width: int = setting(100, "Units per layer", "width", lo=1, hi=512)
    activation: str = setting("sigmoid", "Activation", "act", choices=ACTIVATIONS)
    placement: str = setting("before", "BN placement", "place", choices=PLACEMENTS,
                             help="BN before the nonlinearity (the paper) or after it.")
    affine: str = setting("learnable", "gamma and beta", "affine", choices=AFFINE_MODES,
                          help="Learnable, frozen at the values below, or set to undo BN.")
    gamma_value: float = setting(1.0, "Frozen gamma", "gamma", lo=0.0, hi=5.0)
    beta_value: float = setting(0.0, "Frozen beta", "beta", lo=-5.0, hi=5.0)
    init: str = setting("default", "Initial weights", "winit", choices=INITS,
                        help="How the weights are drawn: N(0, 1/fan_in), He's N(0, 2/fan_in) "
                             "for ReLU, Xavier's N(0, 2/(fan_in + fan_out)), a small "
                             "N(0, 0.01^2), or N(0, scale^2/fan_in) with the scale below.")
    init_scale: float = setting(1.0, "Init scale (scaled init only)", "init", lo=0.01,
                                hi=20.0, log=True,
                                help="Used when the initial weights are 'scaled': "
                                     "W ~ N(0, scale^2/fan_in). Scale 1 is N(0, 1/fan_in); "
                                     "He's init is scale sqrt(2) = 1.41, not 2.")
    dropout: float = setting(0.0, "Dropout", "drop", lo=0.0, hi=0.9)
    # optimisation
    lr: float = setting(0.5, "Learning rate", "lr", lo=1e-4, hi=10.0, log=True)
    lr_multiplier: float = setting(1.0, "Learning-rate multiplier", "lrx", lo=0.1, hi=100.0,
                                   log=True, help="The BN paper's x5 and x30.")
    momentum: float = setting(0.0, "Momentum", "mom", lo=0.0, hi=0.99)
    batch_size: int = setting(60, "Batch size", "batch", lo=1, hi=2000)
    steps: int = setting(3000, "Training steps", "steps", lo=1, hi=200_000)
    seed: int = setting(0, "Seed", "seed", lo=0, hi=2**31 - 1)
    # probes
    probe_every: int = setting(100, "Probe every (steps)", "pe", lo=1, hi=10_000)
    eval_every: int = setting(100, "Evaluate every (steps)", "ee", lo=1, hi=10_000)
    percentiles: tuple = setting(PERCENTILES, "Percentiles", "pct", lo=0.0, hi=100.0,
                                 item_kind=float)
    probe_unit: int = setting(0, "Probed unit", "unit", lo=0, hi=511)
    ics_every: int = setting(0, "Measure ICS every (steps, 0 = off)", "ics", lo=0, hi=10_000)
    grid_resolution: int = setting(60, "Decision grid resolution", "grid", lo=0, hi=200)
    heldout_size: int = setting(1000, "Held-out probe set", "held", lo=10, hi=10_000)
    pace: float = setting(0.0, "Speed limit (steps/s, 0 = none)", "pace", lo=0.0, hi=5000.0)

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, SETTINGS[f.name].check(getattr(self, f.name)))
        # N(0, 1/fan_in) is the scaled init at scale 1: a scale set with the default init (code
        # and links from before `init` existed) means the scaled init; with He's, Xavier's or
        # the small init the scale plays no part (equal nets, equal keys).
        if self.init == "default" and self.init_scale != 1.0:
            object.__setattr__(self, "init", "scaled")
        elif self.init not in ("default", "scaled"):
            object.__setattr__(self, "init_scale", 1.0)
        if self.probe_unit >= self.width:
            raise ValueError(f"probe_unit: got {self.probe_unit}; allowed: between 0 and "
                             f"{self.width - 1} (the layer has {self.width} units)")

    @property
    def effective_lr(self) -> float:
        return self.lr * self.lr_multiplier

    @property
    def is_toy(self) -> bool:
        return self.dataset in TOY_DATASETS

    @property
    def is_regression(self) -> bool:
        return self.dataset in REGRESSION_DATASETS

    def key(self) -> str:
        """Canonical identity of the run: sorted JSON of every field."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

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
        width = values["width"]
        if values["probe_unit"] >= width:
            notices.append(f"`unit={values['probe_unit']}` is beyond the layer's {width} units; "
                           f"using unit {width - 1}.")
            values["probe_unit"] = width - 1
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
