"""The single-process training loop and what it needs: the task loss, AdamW with warm-up and
cosine decay, metric logging and checkpoints (dense and expert-sharded). Imports nothing of
``model.distributed``; that room wraps this loop through the trainer's hooks."""
