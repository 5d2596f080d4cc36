"""pytest set-up for the doctests of skmtl.neural (not imported by the library itself)."""

import torch

# Small networks on a shared 2-core CI machine: with the other core busy, two intra-op threads
# made training about 20x slower than one (see docs/neural.rst, "Threads").
torch.set_num_threads(1)
