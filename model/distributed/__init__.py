"""Data and expert parallelism (paper section 3.4) around ``model.train``'s loop: process
groups, gradient averaging, experts sharded over ranks with all-to-all dispatch, and the
distributed checkpoint. The only room that needs ``torch.distributed`` set up."""
