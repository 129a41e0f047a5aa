"""A live convolutional net (T12, live): a small CNN with BatchNorm2d per channel beside its plain
twin on MNIST: accuracy, each channel's statistics over N, H and W, and one digit's feature maps."""
import streamlit as st

import bnlab_ui as ui
from bn_core.config import CNN_MAX_CHANNELS, CNN_MAX_DEPTH, Setting
from bn_core.figures.conv_bn import (channel_statistics_chart, cnn_accuracy_chart,
                                     feature_maps_chart)
from bn_core.i18n import N_, _
from bn_core.lessons import conv_bn

SETUPS = {"sigmoid": conv_bn.CNN_TWINS, "relu": conv_bn.CNN_TWINS_RELU}
SETUP_LABELS = {"sigmoid": N_("sigmoid, N(0, 1/fan_in), lr 0.5"),
                "relu": N_("ReLU, He's init, lr 0.1")}
FIELDS = ["lr", "batch_size", "width", "depth", "probe_unit", "steps", "seed"]
LABELS = {"width": N_("Channels per conv layer"), "depth": N_("Conv layers"),
          "probe_unit": N_("Channel probed")}
SETUP = Setting("setup", str, "sigmoid", N_("Nonlinearity"), N_("The sigmoid CNN (BN before every "
                "sigmoid, as in Figure 1) or the same CNN with ReLU and He's init."),
                choices=tuple(SETUPS), url="setup")
STATE = "_cnn_setup"


def switch_setup() -> None:
    """A new nonlinearity brings its own defaults (learning rate, init)."""
    setup = st.session_state.get(STATE)
    for name in FIELDS:
        ui.set_setting(name, getattr(SETUPS[setup], name))


lesson = ui.Lesson(
    N_("A live convolutional net"),
    N_("A small convolutional net with **BN per channel** (BatchNorm2d) learns MNIST beside its "
       "plain twin, from the same weights on the same batches. Each channel's statistics are "
       "taken over every image **and every position**: N x H x W values."),
    more=N_("Convolutional BN keeps one gamma and one beta per channel and normalises each "
            "channel with the mean and variance of all its values in the batch: over the N "
            "images, and over the H x W positions of each. It is ordinary BN applied to the "
            "activations reshaped to (N*H*W, C), one column per channel; the *Inside the BN "
            "layer* lesson checks that reshape on a small tensor, this one watches it in a live "
            "run.\n\nThe net: 3x3 convolutions (padding 1), BN (in the BN twin) before the "
            "nonlinearity, 2x2 max pooling after it, a linear layer on top. BN Lab's choices: "
            "SGD, batch 32, 500 held-out digits for the probes."),
    icon=":material/grid_on:")

with ui.guard(N_("the convolutional BN page")):
    setup = lesson.views([SETUP], labels={"setup": SETUP_LABELS})["setup"]
    if st.session_state.get(STATE) not in (None, setup):
        st.session_state[STATE] = setup
        switch_setup()  # before the widgets below are drawn, so they show the new values
    st.session_state[STATE] = setup
    base = SETUPS[setup]
    config = lesson.settings(base, FIELDS, labels=LABELS,
                             limits={"width": {"hi": CNN_MAX_CHANNELS},
                                     "depth": {"hi": CNN_MAX_DEPTH},
                                     "probe_unit": {"hi": CNN_MAX_CHANNELS - 1}})
    layer = lesson.views([
        Setting("layer", int, 1, N_("Conv layer shown"), lo=1, hi=CNN_MAX_DEPTH, url="layer",
                help=N_("The conv layer whose channels and feature maps are drawn. Changing it "
                        "does not restart the run.")),
    ])["layer"]
    layer = min(layer, config.depth) - 1
    run = lesson.run(config)

    def accuracy(snap, brief):
        if not snap.nets:
            st.info(_("Loading the digits and building the two convolutional nets..."))
            return
        lines = conv_bn.findings(snap, layer)
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(cnn_accuracy_chart, snap, key="cnn:acc")
        with c2:
            if brief:
                st.markdown(lines[1] if len(lines) > 1 else lines[0])
                return
            st.markdown("\n\n".join(lines[:2]))
            st.caption(_("**Look for** how long the plain net stays near 10% (chance). **Try** "
                         "the ReLU setup (sidebar: Nonlinearity): does BN still give an edge?"))

    def channels(snap, brief):
        if not snap.nets:
            return
        lines = conv_bn.findings(snap, layer)
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(channel_statistics_chart, snap, layer, key="cnn:channels")
        with c2:
            st.markdown("\n\n".join(lines[2:]) if not brief else (lines[-1] if lines else ""))
            if not brief:
                st.caption(_("One line per channel (channel {unit} thick). In the BN net what the "
                             "nonlinearity receives has each channel's own mean beta and "
                             "variance gamma squared.").format(unit=snap.config.probe_unit))
                rows = conv_bn.channel_rows(snap.nets["bn"], layer) if "bn" in snap.nets else []
                if rows:
                    with st.expander(_("BN's numbers per channel, at the latest probe")):
                        st.dataframe(
                            [{_("channel"): r["channel"],
                              _("batch mean"): r["batch_mean"],
                              _("batch variance"): r["batch_var"],
                              _("running mean"): r["running_mean"],
                              _("running variance"): r["running_var"], "gamma": r["gamma"],
                              "beta": r["beta"]} for r in rows],
                            hide_index=True, width="stretch")

    def maps(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(feature_maps_chart, snap, layer, key="cnn:maps")
        with c2:
            st.markdown(_("What each channel of conv layer {layer} makes of one held-out digit, "
                          "after the {activation}, at the latest probe.").format(
                              layer=layer + 1, activation=snap.config.activation))
            if not brief:
                st.caption(_("Bright = strong response. **Try** the second conv layer: its maps "
                             "are half the size (the 2x2 pooling)."))
        if not brief:
            with st.expander(_("Export this run")):
                ui.export_controls(snap, f"cnn-{setup}")

    lesson.section(N_("Held-out accuracy"), accuracy,
                   say=N_("How long does the plain CNN sit at chance?"))
    lesson.section(N_("Per-channel statistics over N, H, W"), channels,
                   say=N_("One mean and one variance per channel, over every image and "
                          "position."))
    lesson.section(N_("Feature maps"), maps, say=N_("What the channels see in one digit."))
    lesson.live(run)
