"""The M6 network (paper section 3): embeddings, transformer blocks, attention, the dense and
Mixture-of-Experts feed-forward layers, the image patch encoder, parameter and FLOP counts.
Imports neither ``model.train`` nor ``model.distributed``: a network is built and run without
either."""
