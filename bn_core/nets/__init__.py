"""The nets: MLPs with and without BN, the from-scratch BN, and what is measured on a net."""
