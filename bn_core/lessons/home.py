"""The home page's map of the lessons, the sidebar's page names, and the sentences the home page
computes from its run. Texts are English, marked for translation (bn_core.i18n) and shown in the
session's language."""
from __future__ import annotations

import re

from bn_core.config import RunConfig
from bn_core.i18n import N_, _

# The home page's run: two moons, a 4 x 32 sigmoid net, paced so the boundaries can be watched.
HOME_RUN = RunConfig(dataset="moons", n_samples=300, noise=0.2, depth=4, width=32,
                     activation="sigmoid", lr=0.5, batch_size=30, steps=3000, probe_every=20,
                     eval_every=20, grid_resolution=50, pace=150.0)

LESSONS = [
    ("pages/1_Figure_1_live.py", N_("Figure 1, live"),
     N_("The BN paper's MNIST experiment, both nets side by side: accuracy and the percentile "
        "bands of a sigmoid's input.")),
    ("pages/2_Covariate_shift.py", N_("Covariate shift and boundaries"),
     N_("A boundary learnt on training data meets shifted test data; whitening and data far "
        "from the origin.")),
    ("pages/3_Internal_covariate_shift.py", N_("Internal covariate shift"),
     N_("Every hidden layer's input distribution over training; BN before or after the "
        "activation.")),
    ("pages/4_Gamma_and_beta.py", N_("gamma and beta"),
     N_("Why BN scales and shifts after normalising: saturated, near-linear and dead units.")),
    ("pages/5_Shuffling.py", N_("Shuffling"),
     N_("Batches sorted by class versus shuffled: each batch's label mix and what the nets "
        "learn.")),
    ("pages/6_Gradients_and_learning_rates.py", N_("Gradients and learning rates"),
     N_("Vanishing and exploding gradients, depth, init, and BN-x5 / x30 learning rates.")),
    ("pages/7_Inside_the_BN_layer.py", N_("Inside the BN layer"),
     N_("Algorithm 1 on a batch you edit, the backward pass node by node, train vs eval mode, "
        "convolutional BN.")),
    ("pages/8_Does_BN_reduce_ICS.py", N_("Does BN really reduce ICS?"),
     N_("Santurkar et al. 2018: measure internal covariate shift by gradients, try noisy BN.")),
    ("pages/10_Which_part_of_BN.py", N_("Which part of BN does the work?"),
     N_("Normalise only, scale and shift only, or both: four twins on the Figure 1 net and a deep "
        "sigmoid net.")),
    ("pages/11_Small_batches.py", N_("BN, LayerNorm and GroupNorm at tiny batches"),
     N_("A batch-size sweep from 2 to 128: the noise of batch statistics and BN's train/eval gap.")),
    ("pages/12_Convolutional_BN.py", N_("A live convolutional net"),
     N_("BatchNorm2d per channel beside its plain twin: statistics over N, H, W and feature maps.")),
    ("pages/13_Your_own_data.py", N_("Your own data"),
     N_("Upload a CSV of 2-D points or click them onto a canvas; a plain and a BN net learn them.")),
]

HOME_TITLE = N_("Home")
# The sidebar's page names, in English as Streamlit derives them from the file names (so the
# English sidebar reads as before); a page not listed here shows its derived name untranslated.
PAGE_NAMES = {
    "1_Figure_1_live.py": N_("Figure 1 live"),
    "2_Covariate_shift.py": N_("Covariate shift"),
    "3_Internal_covariate_shift.py": N_("Internal covariate shift"),
    "4_Gamma_and_beta.py": N_("Gamma and beta"),
    "5_Shuffling.py": N_("Shuffling"),
    "6_Gradients_and_learning_rates.py": N_("Gradients and learning rates"),
    "7_Inside_the_BN_layer.py": N_("Inside the BN layer"),
    "8_Does_BN_reduce_ICS.py": N_("Does BN reduce ICS"),
    "10_Which_part_of_BN.py": N_("Which part of BN"),
    "11_Small_batches.py": N_("Small batches"),
    "12_Convolutional_BN.py": N_("Convolutional BN"),
    "13_Your_own_data.py": N_("Your own data"),
    "9_Server_status.py": N_("Server status"),
    "99_Server_status.py": N_("Server status"),
}


def page_order(filename: str) -> tuple[int, str]:
    """Pages sort by their number prefix (10 after 9), as Streamlit's pages/ folder does."""
    m = re.match(r"(\d+)", filename)
    return (int(m.group(1)) if m else 10**9, filename)


def page_name(filename: str) -> str:
    """A page's sidebar name in the current language (English: the name Streamlit derives
    from the file name, "1_Figure_1_live.py" -> "Figure 1 live")."""
    english = PAGE_NAMES.get(filename)
    if english is None:
        stem = re.sub(r"^\d+[_ -]*", "", filename.rsplit(".", 1)[0])
        english = re.sub(r"[_ ]+", " ", stem).strip() or filename
    return _(english)


def accuracy_rows(snap) -> list[str]:
    """One line per net: its latest training accuracy, the step and its state."""
    rows = []
    for view in snap.nets.values():
        acc = view.evals.get("train_acc")
        if acc is not None and len(acc):
            rows.append(_("- **{net}**: {accuracy:.0%} of training points right at step "
                          "{step:,} ({state})").format(
                net=_(view.label), accuracy=acc[-1], step=int(view.evals["step"][-1]),
                state=view.status_text))
    return rows
