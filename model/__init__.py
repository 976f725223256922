"""The M6 model in PyTorch: tokenizer, data from Parquet shards, transformer, MoE, tasks, training, generation."""
