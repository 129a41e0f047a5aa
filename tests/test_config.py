"""Tests for bn_core/config.py: the settings table, validation, run keys and URL parameters."""
from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bn_core.engine import training
from bn_core.config import (CNN_MAX_CHANNELS, CNN_MAX_DEPTH, IMAGE_DATASETS,
                            KEY_OMITS_AT_DEFAULT, NET_KINDS, SETTINGS, RunConfig, smallest_batch)
from hostile import split_code_spans

URL_KEYS = [spec.url for spec in SETTINGS.values()]


# ---------------------------------------------------------------------------- the table

def test_every_field_has_a_unique_url_key_and_a_valid_default():
    assert len(set(URL_KEYS)) == len(URL_KEYS) == len(SETTINGS)
    assert all(URL_KEYS)
    default = RunConfig()
    for name, spec in SETTINGS.items():
        assert spec.check(spec.default) == getattr(default, name)


# ---------------------------------------------------------------------------- validation

def invalid_values(spec):
    """Values the setting must refuse."""
    if spec.kind is bool:
        return [1, "yes", None]
    if spec.kind is tuple:
        bad = ["plain", (), None, 7]
        if spec.choices is not None:
            return bad + [("plain", "resnet"), ("plain", "plain")]
        return bad + [(spec.lo - 1,), (spec.hi + 1,), (math.nan,), (math.inf,), ("x",)]
    if spec.choices is not None:
        return ["no-such-" + spec.name, None, 3]
    bad = [spec.lo - 1, spec.hi + 1, math.nan, math.inf, -math.inf, "1", None, True]
    if spec.kind is int:
        bad.append(spec.lo + 0.5)
    return bad


CASES = [(name, value) for name, spec in SETTINGS.items() for value in invalid_values(spec)]


@pytest.mark.parametrize("name,value", CASES, ids=[f"{n}={v!r}" for n, v in CASES])
def test_an_invalid_value_raises_one_value_error_naming_the_field_and_its_range(name, value):
    spec = SETTINGS[name]
    with pytest.raises(ValueError) as info:
        RunConfig(**{name: value})
    message = str(info.value)
    assert message.startswith(f"{name}:")
    assert spec.allowed() in message


@pytest.mark.parametrize("changes,field,allowed", [
    (dict(steps=0), "steps", "between 1 and 200000"),
    (dict(steps=-5), "steps", "between 1 and 200000"),
    (dict(width=0), "width", "between 1 and 512"),
    (dict(activation="gelu"), "activation", "sigmoid, tanh, relu, linear"),
    (dict(lr=0.0), "lr", "between 0.0001 and 10"),
    (dict(lr=-1.0), "lr", "between 0.0001 and 10"),
    (dict(lr=math.nan), "lr", "between 0.0001 and 10"),
    (dict(lr=math.inf), "lr", "between 0.0001 and 10"),
    (dict(percentiles=(15, 50, 101)), "percentiles", "between 0 and 100"),
    (dict(percentiles=(-1, 50)), "percentiles", "between 0 and 100"),
    (dict(nets=("plain", "resnet")), "nets", "plain, bn, noisy_bn, noisy_plain"),
    (dict(width=10, probe_unit=10), "probe_unit", "between 0 and 9"),
    (dict(steps=math.inf), "steps", "between 1 and 200000"),
    (dict(steps=math.nan), "steps", "between 1 and 200000"),
])
def test_the_issue_s_invalid_configs(changes, field, allowed):
    with pytest.raises(ValueError, match=f"^{field}:") as info:
        RunConfig(**changes)
    assert allowed in str(info.value)


def test_several_invalid_fields_raise_a_single_value_error():
    with pytest.raises(ValueError) as info:
        RunConfig(steps=0, width=0, lr=math.nan)
    assert type(info.value) is ValueError
    assert str(info.value).split(":")[0] in {"steps", "width", "lr"}


def test_values_are_canonicalised():
    config = RunConfig(lr=1, percentiles=[15, 50, 85], nets=["bn", "plain"], steps=100.0)
    assert isinstance(config.lr, float) and config.lr == 1.0
    assert config.percentiles == (15.0, 50.0, 85.0)
    assert all(isinstance(p, float) for p in config.percentiles)
    assert config.nets == ("bn", "plain")
    assert isinstance(config.steps, int) and config.steps == 100


def test_from_dict_refuses_unknown_settings():
    with pytest.raises(ValueError, match="unknown setting"):
        RunConfig.from_dict({"lr": 0.1, "learning_rate": 0.1})
    assert RunConfig.from_dict({"lr": 0.1}) == RunConfig(lr=0.1)


# ---------------------------------------------------------------------------- keys

def test_key_is_equal_for_equal_configs_built_differently():
    a = RunConfig(lr=1, percentiles=[15, 50, 85], nets=["plain", "bn"])
    b = RunConfig(lr=1.0, percentiles=(15.0, 50.0, 85.0), nets=("plain", "bn"))
    assert a == b
    assert a.key() == b.key()
    assert hash(a) == hash(b)
    assert RunConfig.from_dict(a.to_dict()).key() == a.key()


def test_negative_zero_gives_the_same_key_as_zero():
    a, b = RunConfig(rotate_deg=-0.0, beta_value=-0.0, percentiles=(-0.0, 50)), \
        RunConfig(rotate_deg=0.0, beta_value=0.0, percentiles=(0.0, 50))
    assert a == b and a.key() == b.key()
    assert RunConfig.from_query(a.to_query())[0].key() == a.key()


def another_valid_value(spec, current):
    """A valid value of the setting different from `current`."""
    if spec.kind is bool:
        return not current
    if spec.kind is tuple:
        if spec.choices is not None:
            return tuple(k for k in NET_KINDS if k not in current)[:1] or ("plain",)
        return (10.0, 90.0)
    if spec.choices is not None:
        return next(c for c in spec.choices if c != current)
    value = spec.hi if current != spec.hi else spec.lo
    return spec.kind(value)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_key_differs_when_any_field_differs(name):
    base = RunConfig(width=100, probe_unit=0, init="scaled" if name == "init_scale" else "default")
    value = another_valid_value(SETTINGS[name], getattr(base, name))
    changes = {name: value}
    if name == "probe_unit":
        changes["probe_unit"] = 5
    if name == "arch":  # a convolutional net needs images and at most 32 channels
        base = base.replace(dataset="mnist-subset", width=8)
        changes["arch"] = "cnn"
    other = base.replace(**changes)
    assert other != base
    if name == "pace":  # a run's speed is a control: viewers at other speeds share the run
        assert other.key() == base.key()
    else:
        assert other.key() != base.key()


# ---------------------------------------------------------------------------- URL

def valid_value(spec):
    """A strategy for valid values of one setting."""
    if spec.kind is bool:
        return st.booleans()
    if spec.kind is tuple:
        if spec.choices is not None:
            return st.lists(st.sampled_from(spec.choices), min_size=1, unique=True).map(tuple)
        return st.lists(st.floats(spec.lo, spec.hi), min_size=1, max_size=5).map(tuple)
    if spec.choices is not None:
        return st.sampled_from(spec.choices)
    if spec.kind is int:
        return st.integers(int(spec.lo), int(spec.hi))
    return st.floats(spec.lo, spec.hi)


@st.composite
def configs(draw):
    values = {name: draw(valid_value(spec)) for name, spec in SETTINGS.items()}
    if values["arch"] == "cnn":
        values["dataset"] = draw(st.sampled_from(IMAGE_DATASETS))
        values["depth"] = min(values["depth"], CNN_MAX_DEPTH)
        values["width"] = min(values["width"], CNN_MAX_CHANNELS)
    values["probe_unit"] = draw(st.integers(0, values["width"] - 1))
    values["batch_size"] = max(values["batch_size"], smallest_batch(values["nets"]))
    return RunConfig(**values)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.booleans())
def test_to_query_from_query_round_trip(config, only_changed):
    query = config.to_query(only_changed=only_changed)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    back, notices = RunConfig.from_query(query)
    assert notices == []
    assert back == config
    assert back.key() == config.key()


def test_default_config_has_an_empty_query():
    assert RunConfig().to_query() == {}
    assert RunConfig.from_query({}) == (RunConfig(), [])
    assert set(RunConfig().to_query(only_changed=False)) == set(URL_KEYS)


def test_float_values_survive_the_url_exactly():
    config = RunConfig(lr=0.123456789, noise=1 / 3)
    assert RunConfig.from_query(config.to_query())[0] == config
    assert RunConfig(lr=0.5).to_query() == {}  # short values stay short
    assert RunConfig(lr=0.25).to_query() == {"lr": "0.25"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(URL_KEYS), st.text(max_size=60), min_size=1))
def test_from_query_never_raises_on_junk(query):
    config, notices = RunConfig.from_query(query)
    assert isinstance(config, RunConfig)
    assert all(isinstance(n, str) and n for n in notices)
    for url, raw in query.items():
        name = next(n for n, s in SETTINGS.items() if s.url == url)
        value, notice = SETTINGS[name].coerce(raw)
        # these may be moved afterwards: the unit inside the layer, the batch to 2 for BN,
        # a CNN's settings adjusted
        if name not in ("probe_unit", "batch_size", "arch", "depth", "width"):
            assert getattr(config, name) == value
        if notice is not None:  # every clamp or reset is reported, naming the URL key in code
            assert notice in notices
            assert any(span == url or span.startswith(f"{url}=")
                       for span in split_code_spans(notice)[1])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(URL_KEYS), st.one_of(
    st.text(max_size=30),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**30, 10**30).map(str),
    st.lists(st.one_of(st.floats().map(repr), st.text(max_size=8)), max_size=4).map(",".join),
))
def test_every_url_key_coerces_anything_to_a_valid_value(url, raw):
    spec = next(s for s in SETTINGS.values() if s.url == url)
    value, notice = spec.coerce(raw)
    assert spec.check(value) == value
    assert notice is None or url in notice


@pytest.mark.parametrize("query,field,expected", [
    ({"width": "9999"}, "width", 512),
    ({"steps": "-3"}, "steps", 1),
    ({"lr": "nan"}, "lr", SETTINGS["lr"].default),
    ({"lr": "inf"}, "lr", SETTINGS["lr"].default),
    ({"lr": "50"}, "lr", 10.0),
    ({"act": "gelu"}, "activation", SETTINGS["activation"].default),
    ({"pct": "15,50,150"}, "percentiles", (15.0, 50.0, 100.0)),
    ({"pct": ""}, "percentiles", (15.0, 50.0, 85.0)),
    ({"nets": "plain,resnet"}, "nets", SETTINGS["nets"].default),
    ({"bin": "maybe"}, "binarize", False),
    ({"depth": "2.6"}, "depth", 3),
])
def test_from_query_clamps_or_resets_with_a_notice(query, field, expected):
    config, notices = RunConfig.from_query(query)
    assert getattr(config, field) == expected
    assert len(notices) == 1
    assert f"`{next(iter(query))}" in notices[0]


def test_from_query_moves_the_probed_unit_inside_the_layer_with_a_notice():
    config, notices = RunConfig.from_query({"width": "10", "unit": "50"})
    assert (config.width, config.probe_unit) == (10, 9)
    assert any("unit" in n for n in notices)


def test_from_query_accepts_valid_values_silently_over_a_base():
    base = RunConfig(dataset="circles", steps=500)
    config, notices = RunConfig.from_query({"lr": "0.1", "act": "relu", "bin": "1",
                                            "nets": "bn,noisy_bn", "pct": "10,90"}, base=base)
    assert notices == []
    assert config == base.replace(lr=0.1, activation="relu", binarize=True,
                                  nets=("bn", "noisy_bn"), percentiles=(10.0, 90.0))


# ---------------------------------------------------------------------------- data-size checks

def test_a_batch_larger_than_the_data_raises_naming_batch_size():
    config = RunConfig(dataset="moons", n_samples=100, batch_size=200)
    with pytest.raises(ValueError, match="^batch_size:.*100"):
        training.check_config(config)
    with pytest.raises(ValueError, match="^batch_size:"):
        training.Run(config)
    training.check_config(config.replace(batch_size=100))  # the whole set in one batch is fine


# ---------------------------------------------------------------------------- percentile lists

def test_a_percentile_list_is_sorted_and_de_duplicated_so_equal_sets_share_a_run():
    a, b = RunConfig(percentiles=(85, 15, 50, 15)), RunConfig(percentiles=(15, 50, 85))
    assert a.percentiles == (15.0, 50.0, 85.0)
    assert a.key() == b.key()


def test_a_percentile_list_from_the_url_is_sorted_and_de_duplicated_with_a_notice():
    config, notices = RunConfig.from_query({"pct": "85,15,50,50"})
    assert config.percentiles == (15.0, 50.0, 85.0)
    assert len(notices) == 1 and "pct" in notices[0]
    assert "sorted" in notices[0] and "duplicate" in notices[0]


def test_a_long_percentile_list_is_cut_to_at_most_nine_values_spread_over_it_with_a_notice():
    raw = ",".join(str(p) for p in range(67, 0, -1))  # 67 values, unsorted
    config, notices = RunConfig.from_query({"pct": raw})
    assert len(config.percentiles) == SETTINGS["percentiles"].max_items == 9
    assert list(config.percentiles) == sorted(set(config.percentiles))
    assert (config.percentiles[0], config.percentiles[-1]) == (1.0, 67.0)  # the ends are kept
    assert len(notices) == 1 and "67" in notices[0] and "9" in notices[0]


def test_more_than_nine_percentiles_are_refused_naming_the_field():
    with pytest.raises(ValueError, match="^percentiles:.*at most 9"):
        RunConfig(percentiles=tuple(range(0, 100, 10)))  # 10 values
    assert len(RunConfig(percentiles=tuple(range(10, 100, 10))).percentiles) == 9


# ---------------------------------------------------------------------------- batch of one

def test_batch_size_one_with_a_bn_net_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="^batch_size:") as info:
        RunConfig(batch_size=1)  # the default nets are plain and BN
    assert "variance" in str(info.value) and "BN" in str(info.value)
    with pytest.raises(ValueError, match="^batch_size:"):
        RunConfig(batch_size=1, nets=("plain", "noisy_bn"))
    assert RunConfig(batch_size=1, nets=("plain",)).batch_size == 1  # no BN: SGD on one example
    assert RunConfig(batch_size=1, nets=("plain", "noisy_plain")).batch_size == 1


def test_batch_one_in_the_url_becomes_two_with_the_reason_when_a_net_has_bn():
    config, notices = RunConfig.from_query({"batch": "1"})
    assert config.batch_size == 2
    assert len(notices) == 1 and "`batch" in notices[0] and "variance" in notices[0]
    config, notices = RunConfig.from_query({"batch": "1", "nets": "plain"})
    assert (config.batch_size, notices) == (1, [])
# ---------------------------------------------------------------------------- later settings

# The key of RunConfig() as it was before `arch` and `groups` existed (from main at 86fb1cd),
# less the pace, which is a control of a run (its speed), not part of what it trains.
OLD_DEFAULT_KEY = (
    '{"activation":"sigmoid","affine":"learnable","batch_size":60,"beta_value":0.0,'
    '"binarize":false,"dataset":"moons","depth":3,"dropout":0.0,"eval_every":100,'
    '"far_offset":0.0,"gamma_value":1.0,"grid_resolution":60,"heldout_size":1000,'
    '"ics_every":0,"init_scale":1.0,"lr":0.5,"lr_multiplier":1.0,"momentum":0.0,'
    '"n_samples":400,"nets":["plain","bn"],"noise":0.15,"percentiles":[15.0,'
    '50.0,85.0],"placement":"before","probe_every":100,"probe_unit":0,"rotate_deg":0.0,'
    '"scale":1.0,"seed":0,"shift_x":0.0,"shift_y":0.0,"shuffle":1.0,"steps":3000,'
    '"whitening":"none","width":100}')


def test_settings_added_later_leave_old_keys_and_urls_unchanged():
    assert set(KEY_OMITS_AT_DEFAULT) == {"arch", "groups", "init"}
    key = RunConfig().key()
    assert key == OLD_DEFAULT_KEY
    assert '"arch"' not in key and '"groups"' not in key
    assert set(RunConfig().to_dict()) - set(__import__("json").loads(key)) == {
        "arch", "groups", "init", "pace"}
    assert RunConfig().to_query() == {}
    # at any other value they are part of the run's identity
    assert '"groups":8' in RunConfig(groups=8).key()
    assert '"arch":"cnn"' in RunConfig(arch="cnn", dataset="mnist-subset", width=8).key()


@pytest.mark.parametrize("changes,field,words", [
    (dict(arch="cnn"), "arch", "needs images"),
    (dict(arch="cnn", dataset="mnist-subset", depth=5, width=8), "depth", "conv layers"),
    (dict(arch="cnn", dataset="mnist-subset", width=64), "width", "channels"),
])
def test_a_convolutional_net_refuses_settings_it_cannot_train(changes, field, words):
    with pytest.raises(ValueError) as info:
        RunConfig(**changes)
    assert str(info.value).startswith(f"{field}:") and words in str(info.value)


def test_from_query_adjusts_a_convolutional_net_with_notices():
    config, notices = RunConfig.from_query({"arch": "cnn"})  # the default data are 2-D points
    assert config.arch == "mlp" and len(notices) == 1 and "`arch=cnn`" in notices[0]
    config, notices = RunConfig.from_query({"arch": "cnn", "data": "mnist-subset",
                                            "depth": "9", "unit": "50"})
    assert (config.arch, config.depth, config.width) == ("cnn", 4, 32)
    assert config.probe_unit == 31
    assert any("`depth=9`" in n for n in notices) and any("`width=100`" in n for n in notices)
# ---------------------------------------------------------------------------- initial weights

def test_the_init_scale_counts_only_for_the_scaled_init():
    assert RunConfig(init="he", init_scale=3.0).init_scale == 1.0
    assert RunConfig(init="he", init_scale=3.0) == RunConfig(init="he")
    assert RunConfig(init="scaled", init_scale=3.0).init_scale == 3.0
    # a scale with the default init (code from before `init` existed) is the scaled init
    assert (RunConfig(init_scale=3.0).init, RunConfig(init_scale=3.0).init_scale) == \
        ("scaled", 3.0)


def test_an_old_link_with_only_the_init_scale_gives_the_same_net():
    """Before `init` existed, ?init=2 meant W ~ N(0, 4/fan_in): it still does."""
    config, notices = RunConfig.from_query({"init": "2"})
    assert notices == []
    assert (config.init, config.init_scale) == ("scaled", 2.0)
    assert RunConfig.from_query({"init": "2", "winit": "he"})[0].init == "he"
    assert RunConfig.from_query(config.to_query())[0] == config
    assert config.to_query() == {"init": "2", "winit": "scaled"}


def test_an_old_export_with_only_the_init_scale_gives_the_same_net():
    old = RunConfig().to_dict()
    del old["init"]
    old["init_scale"] = 0.5
    assert RunConfig.from_dict(old).init == "scaled"
    assert RunConfig.from_dict(old).init_scale == 0.5
