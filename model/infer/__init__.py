"""Using a trained model: loading a checkpoint with its config and tokenizer, and sampling
text from it with a KV cache."""
