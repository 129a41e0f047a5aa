"""The home page's map of the lessons and the sentences it computes from its run."""
from __future__ import annotations

from bn_core.config import RunConfig

# The home page's run: two moons, a 4 x 32 sigmoid net, paced so the boundaries can be watched.
HOME_RUN = RunConfig(dataset="moons", n_samples=300, noise=0.2, depth=4, width=32,
                     activation="sigmoid", lr=0.5, batch_size=30, steps=3000, probe_every=20,
                     eval_every=20, grid_resolution=50, pace=150.0)

LESSONS = [
    ("pages/1_Figure_1_live.py", "Figure 1, live",
     "The BN paper's MNIST experiment, both nets side by side: accuracy and the percentile "
     "bands of a sigmoid's input."),
    ("pages/2_Covariate_shift.py", "Covariate shift and boundaries",
     "A boundary learnt on training data meets shifted test data; whitening and data far "
     "from the origin."),
    ("pages/3_Internal_covariate_shift.py", "Internal covariate shift",
     "Every hidden layer's input distribution over training; BN before or after the activation."),
    ("pages/4_Gamma_and_beta.py", "gamma and beta",
     "Why BN scales and shifts after normalising: saturated, near-linear and dead units."),
    ("pages/5_Shuffling.py", "Shuffling",
     "Batches sorted by class versus shuffled: each batch's label mix and what the nets learn."),
    ("pages/6_Gradients_and_learning_rates.py", "Gradients and learning rates",
     "Vanishing and exploding gradients, depth, init, and BN-x5 / x30 learning rates."),
    ("pages/7_Inside_the_BN_layer.py", "Inside the BN layer",
     "Algorithm 1 on a batch you edit, the backward pass node by node, train vs eval mode, "
     "convolutional BN."),
    ("pages/8_Does_BN_reduce_ICS.py", "Does BN really reduce ICS?",
     "Santurkar et al. 2018: measure internal covariate shift by gradients, try noisy BN."),
    ("pages/10_Which_part_of_BN.py", "Which part of BN does the work?",
     "Normalise only, scale and shift only, or both: four twins on the Figure 1 net and a deep "
     "sigmoid net."),
    ("pages/11_Small_batches.py", "BN, LayerNorm and GroupNorm at tiny batches",
     "A batch-size sweep from 2 to 128: the noise of batch statistics and BN's train/eval gap."),
    ("pages/12_Convolutional_BN.py", "A live convolutional net",
     "BatchNorm2d per channel beside its plain twin: statistics over N, H, W and feature maps."),
    ("pages/13_Your_own_data.py", "Your own data",
     "Upload a CSV of 2-D points or click them onto a canvas; a plain and a BN net learn them."),
]


def accuracy_rows(snap) -> list[str]:
    """One line per net: its latest training accuracy, the step and its state."""
    rows = []
    for view in snap.nets.values():
        acc = view.evals.get("train_acc")
        if acc is not None and len(acc):
            rows.append(f"- **{view.label}**: {acc[-1]:.0%} of training points right at step "
                        f"{int(view.evals['step'][-1]):,} ({view.status_text})")
    return rows
